"""Requests/s of the edge-auth worker turning away unauthorized requests, beside hello.

Run by bench/http_bench.sh after the HTTP figures, or alone:

    .venv/bin/python bench/workers_bench.py            # 10 s per run
    DURATION=3s .venv/bin/python bench/workers_bench.py
    .venv/bin/python bench/workers_bench.py --asgi-only    # in-process figures only

Both under `edgeworks serve --workers 1 --no-access-log --kv memory` (uvloop,
httptools), all up at once; wrk -t1 -c32 visits them in turn, two rounds:

- hello:            examples/hello (the baseline)
- auth-no-token:    examples/edge-auth, requests without a token (401, no KV read)
- auth-bad-token:   the same with `Authorization: Bearer <unknown>` (401 after a KV
                    lookup; "not found" is served from the location's edge cache)

The origin is never contacted (nothing listens on it). Target: >= 0.8x hello.
Besides req/s, the server's CPU time per request (from /proc, over each wrk run):
on a shared box req/s moves with outside load, CPU per request much less.
Then the same three as in-process ASGI cost per request (steadier on a busy box).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from http_bench import asgi_cost, free_port, run_wrk, stop, wait_ok  # noqa: E402

DURATION = os.environ.get("DURATION", "10s")
ROUNDS = int(os.environ.get("ROUNDS", "2"))
VENV_BIN = Path(sys.executable).parent
RUNS = {
    "hello": ("hello", []),
    "auth-no-token": ("edge-auth", []),
    "auth-bad-token": ("edge-auth", ["-H", "Authorization: Bearer not-a-valid-token"]),
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, extra: list[str], pid: int) -> tuple[float, float, float, float, str]:
    """req/s, p50 ms, p99 ms, server CPU us per request, non-2xx count."""
    cpu_before = cpu_seconds(pid)
    figures = run_wrk(url, "-t1", "-c32", f"-d{DURATION}", *extra)
    cpu = cpu_seconds(pid) - cpu_before
    per_request = cpu / figures["requests"] * 1e6
    return figures["rps"], figures["p50"], figures["p99"], per_request, str(figures["non2xx"])


def start(project: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    args = [str(VENV_BIN / "edgeworks"), "serve", "--port", str(port), "--no-access-log"]
    args += ["--kv", "memory"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with log.open("ab") as out:
        return subprocess.Popen(args, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT)


def with_headers(app: Any, headers: list[tuple[bytes, ...]]) -> Any:
    """``app`` called with ``headers`` added to every request's scope."""

    async def call(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["headers"] = [*scope["headers"], *headers]
        await app(scope, receive, send)

    return call


def asgi_figures(work: Path) -> None:
    """Microseconds per request calling each app in-process (no server, no socket)."""
    import asyncio

    from runtime.serve import ServeOptions, build_app, load_serve_config

    costs = {}
    for name, (example, extra) in RUNS.items():
        options = ServeOptions(
            overrides={"kv.store": "memory"}, access_log=False, cwd=str(work / example)
        )
        app = build_app(load_serve_config(options), options)
        headers = [tuple(h.lower().encode().split(b": ", 1)) for h in extra[1::2]]
        costs[name] = asyncio.run(asgi_cost(with_headers(app, headers)))
    print("\nin-process ASGI cost per request (best of 3 x 20,000 calls, no server):")
    for name, cost in costs.items():
        print(f"{name:15} {cost:7.1f} us   {costs['hello'] / cost:5.2f}x hello's speed")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="edgeworks-workers-bench-"))
    examples = sorted({example for example, _ in RUNS.values()})
    for example in examples:
        shutil.copytree(REPO / "examples" / example, work / example)
    if "--asgi-only" in sys.argv:
        asgi_figures(work)
        shutil.rmtree(work, ignore_errors=True)
        return
    results: dict[str, list[tuple[float, float, float, float, str]]] = {n: [] for n in RUNS}
    procs = {}
    ports = {}
    try:
        # Every server is up for the whole run and wrk visits them in turn, so a burst of
        # outside load on a shared box hits each of them alike.
        for example in examples:
            ports[example] = free_port()
            procs[example] = start(work / example, ports[example], work / f"{example}.log")
        for example in examples:
            wait_ok(f"http://127.0.0.1:{ports[example]}/__edgeworks/health")
        for round_no in range(ROUNDS):
            for name, (example, extra) in RUNS.items():
                url = f"http://127.0.0.1:{ports[example]}/"
                results[name].append(wrk(url, extra, procs[example].pid))
                rps, p50, p99, cpu_us, non2xx = results[name][-1]
                print(
                    f"round {round_no + 1} {name:15} {rps:9.0f} req/s  p50 {p50:6.2f} ms  "
                    f"p99 {p99:6.2f} ms  server CPU {cpu_us:5.1f} us/req  non-2xx {non2xx}",
                    flush=True,
                )
        base = statistics.median(r[0] for r in results["hello"])
        base_cpu = statistics.median(r[3] for r in results["hello"])
        print(f"\nwrk -t1 -c32 -d{DURATION}, {ROUNDS} rounds interleaved (median of rounds)")
        print(
            f"{'worker':15} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'rps/hello':>10} "
            f"{'CPU us/req':>11} {'speed by CPU':>13}"
        )
        for name in RUNS:
            rps = statistics.median(r[0] for r in results[name])
            p50 = statistics.median(r[1] for r in results[name])
            p99 = statistics.median(r[2] for r in results[name])
            cpu_us = statistics.median(r[3] for r in results[name])
            print(
                f"{name:15} {rps:9.0f} {p50:8.2f} {p99:8.2f} {rps / base:9.2f}x "
                f"{cpu_us:11.1f} {base_cpu / cpu_us:12.2f}x"
            )
        asgi_figures(work)
    except BaseException:
        for log in sorted(work.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-2000:]}", file=sys.stderr)
        raise
    finally:
        for proc in procs.values():
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
