"""HTTP throughput, latency, cold start and idle RSS of `edgeworks serve` beside baselines.

Run through bench/http_bench.sh (it makes sure wrk is installed). Every server is
uvicorn with uvloop + httptools, one process, no access log:

- starlette: a plain starlette hello app (one route) — the baseline
- raw:       a raw ASGI hello app (the floor)
- hello:     `edgeworks serve --workers 1 --no-access-log` on examples/hello
- hello-log: the same with the access log on (the default), written to a file
- kv-read:   the same on a worker reading a 1 KiB value (edge-cache hit)
- kv-read+metrics: the same with `--metrics` (what counting every request costs)

All five servers run at once; wrk -t1 -c32 -d$DURATION (default 10s) visits them
in turn, $ROUNDS rounds (default 2); printed: median req/s, p50, p99, the best
round's req/s (load from elsewhere on a shared box only ever lowers it) and the
ratios to starlette. Then cold start (process start -> first
200, median of 5) of `edgeworks serve` vs bare uvicorn on the starlette app, and
the idle RSS of a serve process after a few requests.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
VENV_BIN = Path(sys.executable).parent
DURATION = os.environ.get("DURATION", "10s")
ROUNDS = int(os.environ.get("ROUNDS", "2"))
LOGS = "the bench's temporary folder"
UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ok(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s (logs in {LOGS})")


def start(name: str, port: int, work: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=f"{REPO}:{BENCH / 'http_apps'}")
    if name in ("starlette", "raw"):
        module = "starlette_hello:app" if name == "starlette" else "raw_hello:app"
        args = [sys.executable, "-m", "uvicorn", module, "--port", str(port), *UVICORN_FLAGS]
        args += ["--log-level", "warning"]
        cwd = BENCH / "http_apps"
    else:
        # hello-log: the hello app with the access log on (written to the log file);
        # kv-read+metrics: the KV read app with --metrics.
        project = work / name.removesuffix("-log").removesuffix("+metrics")
        args = [str(VENV_BIN / "edgeworks"), "serve", "--port", str(port), "--kv", "memory"]
        if not name.endswith("-log"):
            args.append("--no-access-log")
        if name.endswith("+metrics"):
            args.append("--metrics")
        cwd = project
    log = (work / f"{name}.log").open("ab")
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def parse_ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)\b", text)
    if match is None:
        raise ValueError(f"cannot read a wrk latency from {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, *options: str) -> dict[str, float]:
    """wrk's figures for ``url``: requests, rps, p50 and p99 (ms), failed (socket errors
    plus non-2xx/3xx responses). ``options`` go to wrk (threads, connections, duration)."""
    out = subprocess.run(
        ["wrk", *options, "--latency", url], capture_output=True, text=True, check=True
    ).stdout
    try:
        errors = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
        )
        non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        return {
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            # Anchored at the line start: "75.99%" in the thread stats is not the 99% row.
            "p50": parse_ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
            "p99": parse_ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "failed": (sum(int(n) for n in errors.groups()) if errors else 0)
            + (int(non2xx.group(1)) if non2xx else 0),
        }
    except (AttributeError, ValueError) as exc:
        raise RuntimeError(f"unexpected wrk output ({exc}):\n{out}") from None


def wrk(url: str) -> tuple[float, float, float]:
    figures = run_wrk(url, "-t1", "-c32", f"-d{DURATION}")
    return figures["rps"], figures["p50"], figures["p99"]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_start(name: str, work: Path) -> float:
    port = free_port()
    began = time.perf_counter()
    proc = start(name, port, work)
    try:
        wait_ok(f"http://127.0.0.1:{port}/")
        return (time.perf_counter() - began) * 1000
    finally:
        stop(proc)


async def asgi_cost(app: object, n: int = 20_000) -> float:
    """Microseconds per request calling the ASGI app directly (no server, no socket)."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [(b"host", b"bench")],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
        "root_path": "",
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: object) -> None:
        return None

    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for _ in range(n):
            await app(dict(scope), receive, send)  # type: ignore[operator]
        best = min(best, (time.perf_counter() - began) / n * 1e6)
    return best


def asgi_figures(work: Path) -> None:
    """In-process cost per request: steadier than wrk on a busy box."""
    import asyncio

    sys.path.insert(0, str(BENCH / "http_apps"))
    from raw_hello import app as raw_app
    from starlette_hello import app as starlette_app

    from runtime.serve import ServeOptions, build_app, load_serve_config

    apps: dict[str, object] = {"starlette": starlette_app, "raw": raw_app}
    for name in ("hello", "kv-read", "kv-read+metrics"):
        options = ServeOptions(
            overrides={"kv.store": "memory"},
            access_log=False,
            cwd=str(work / name.removesuffix("+metrics")),
            metrics=name.endswith("+metrics"),
        )
        apps[name] = build_app(load_serve_config(options), options)
    costs = {name: asyncio.run(asgi_cost(app)) for name, app in apps.items()}
    print("\nin-process ASGI cost per request (best of 3 x 20,000 calls, no server):")
    for name, cost in costs.items():
        print(f"{name:16} {cost:7.1f} us   {costs['starlette'] / cost:5.2f}x starlette's speed")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="edgeworks-http-bench-"))
    shutil.copytree(REPO / "examples" / "hello", work / "hello")
    shutil.copytree(BENCH / "http_apps" / "kv_read", work / "kv-read")
    if "--asgi-only" in sys.argv:
        asgi_figures(work)
        return
    names = ["starlette", "raw", "hello", "hello-log", "kv-read", "kv-read+metrics"]
    results: dict[str, list[tuple[float, float, float]]] = {n: [] for n in names}
    # All six servers run at once (an idle server costs nothing) and wrk visits them in
    # turn, round after round: a burst of load from elsewhere on the box then hits every
    # app alike instead of whichever one happened to run at that moment.
    procs: dict[str, subprocess.Popen[bytes]] = {}
    urls: dict[str, str] = {}
    try:
        for name in names:
            port = free_port()
            procs[name] = start(name, port, work)
            urls[name] = f"http://127.0.0.1:{port}/"
        for name in names:
            wait_ok(urls[name])
        for round_no in range(ROUNDS):
            for name in names:
                results[name].append(wrk(urls[name]))
                rps, p50, p99 = results[name][-1]
                print(
                    f"round {round_no + 1} {name:16} {rps:9.0f} req/s  "
                    f"p50 {p50:6.2f} ms  p99 {p99:6.2f} ms",
                    flush=True,
                )
        for proc in procs.values():
            stop(proc)
        procs.clear()
        base = results["starlette"]
        print(f"\nwrk -t1 -c32 -d{DURATION}, {ROUNDS} rounds interleaved (median of rounds)")
        print(
            f"{'app':16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'rps/starlette':>14} "
            f"{'p99/starlette':>14} {'best req/s':>11} {'best/starlette':>15}"
        )
        base_rps = statistics.median(r[0] for r in base)
        base_p99 = statistics.median(r[2] for r in base)
        base_best = max(r[0] for r in base)
        for name in names:
            rps = statistics.median(r[0] for r in results[name])
            p50 = statistics.median(r[1] for r in results[name])
            p99 = statistics.median(r[2] for r in results[name])
            best = max(r[0] for r in results[name])
            print(
                f"{name:16} {rps:9.0f} {p50:8.2f} {p99:8.2f} {rps / base_rps:13.2f}x "
                f"{p99 / base_p99:13.2f}x {best:11.0f} {best / base_best:14.2f}x"
            )

        with_log = statistics.median(r[0] for r in results["hello-log"])
        without = statistics.median(r[0] for r in results["hello"])
        print(
            f"\naccess log cost: hello with the log {with_log:.0f} req/s, without "
            f"{without:.0f} req/s ({with_log / without:.2f}x; target >= 0.90x)"
        )

        serve = [cold_start("hello", work) for _ in range(5)]
        bare = [cold_start("starlette", work) for _ in range(5)]
        serve_ms, bare_ms = statistics.median(serve), statistics.median(bare)
        print(
            f"\ncold start to first 200 (median of 5): edgeworks serve {serve_ms:.0f} ms, "
            f"bare uvicorn+starlette {bare_ms:.0f} ms ({serve_ms / bare_ms:.2f}x)"
        )

        port = free_port()
        proc = start("hello", port, work)
        try:
            wait_ok(f"http://127.0.0.1:{port}/")
            for _ in range(100):
                wait_ok(f"http://127.0.0.1:{port}/")
            time.sleep(0.5)
            serve_rss = rss_mib(proc.pid)
        finally:
            stop(proc)
        port = free_port()
        proc = start("starlette", port, work)
        try:
            for _ in range(101):
                wait_ok(f"http://127.0.0.1:{port}/")
            time.sleep(0.5)
            bare_rss = rss_mib(proc.pid)
        finally:
            stop(proc)
        print(
            f"idle RSS after 100 requests: edgeworks serve {serve_rss:.1f} MiB, "
            f"bare uvicorn+starlette {bare_rss:.1f} MiB ({serve_rss / bare_rss:.2f}x)"
        )
    except BaseException:
        for proc in procs.values():
            stop(proc)
        for log in sorted(work.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-2000:]}", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
