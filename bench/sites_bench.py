"""Static sites: serving throughput/latency and deploy time.

Run through bench/sites_bench.sh. A seeded 200-file site (HTML/CSS/JS/PNG,
1-200 KiB, mean ~42 KiB; bench/sites_gen.py) is served by three servers, each
uvicorn with uvloop + httptools, one process, no access log:

- edgeworks:   `edgeworks serve` on a [site] project (the built-in static-site
               worker, AssetHandler) after `edgeworks sites deploy` into SQLite
- staticfiles: starlette's StaticFiles on the same folder (the baseline)
- raw:         a raw ASGI app answering from a dict in memory (the ceiling)

wrk -t1 -c32 -d$DURATION with a Lua script cycling through every path (HTML pages
requested by their pretty URL `/pages/f00012` on edgeworks, by file name on the
others), the set run ROUNDS (2) times interleaved. Printed: req/s, p99, ratios.

The same again on a request-bound variant: 200 files of 512 B - 4 KiB (SKIP_SMALL=1
skips it). Then deploys of a DEPLOY_FILES (10,000) file site with the same size distribution
into SQLite: first deploy, unchanged redeploy (hashing only), unchanged redeploy
with an in-process HashCache (the dev server's path) and a one-file change.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
sys.path[:0] = [str(REPO), str(BENCH)]

from http_bench import free_port, parse_ms, wait_ok  # noqa: E402
from sites_gen import generate  # noqa: E402

DURATION = os.environ.get("DURATION", "10s")
ROUNDS = int(os.environ.get("ROUNDS", "2"))
DEPLOY_FILES = int(os.environ.get("DEPLOY_FILES", "10000"))
UVICORN_FLAGS = [
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
]
VENV_BIN = Path(sys.executable).parent


def lua_script(work: Path, name: str, paths: list[str]) -> Path:
    listed = ",\n".join(f'  "{p}"' for p in paths)
    script = work / f"{name}.lua"
    script.write_text(
        f"local paths = {{\n{listed}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\nend\n'
        "local errors = 0\n"
        "response = function(status, headers, body)\n"
        "  if status ~= 200 then errors = errors + 1 end\nend\n"
        'done = function(summary, latency, requests)\n  io.write("non200 " .. errors .. "\\n")\nend\n'
    )
    return script


def wrk(url: str, script: Path) -> tuple[float, float, int]:
    out = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{DURATION}", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Anchored at the line start: "75.99%" in the thread stats is not the 99% row.
    p99 = parse_ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non200 = int(re.search(r"non200 (\d+)", out).group(1))  # type: ignore[union-attr]
    return rps, p99, non200


def start(name: str, port: int, work: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ, PYTHONPATH=f"{REPO}:{BENCH}", SITES_BENCH_ROOT=str(work / "project" / "public")
    )
    log = (work / f"{name}.log").open("ab")
    if name == "edgeworks":
        args = [str(VENV_BIN / "edgeworks"), "serve", "--port", str(port), "--no-access-log"]
        args += ["--kv", f"sqlite:///{work}/kv.sqlite3"]
        return subprocess.Popen(
            args, cwd=work / "project", env=env, stdout=log, stderr=subprocess.STDOUT
        )
    module = "sites_staticfiles_app:app" if name == "staticfiles" else "sites_raw_app:app"
    args = [sys.executable, "-m", "uvicorn", module, "--port", str(port), *UVICORN_FLAGS]
    return subprocess.Popen(args, cwd=BENCH, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def serving(work: Path, small: bool) -> None:
    project = work / "project"
    shutil.rmtree(project, ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):
        (work / f"kv.sqlite3{suffix}").unlink(missing_ok=True)
    paths = generate(project / "public", small=small)
    sizes = [(project / "public" / p).stat().st_size for p in paths]
    (project / "edgeworks.toml").write_text('name = "bench"\n[site]\nbucket = "public"\n')
    subprocess.run(
        [str(VENV_BIN / "edgeworks"), "sites", "deploy", "--kv", f"sqlite:///{work}/kv.sqlite3"],
        cwd=project,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    plain = ["/" + p for p in paths]
    pretty = ["/" + p.removesuffix(".html") if p.startswith("pages/") else "/" + p for p in paths]
    pretty = ["/" if p == "/index.html" else p for p in pretty]
    scripts = {
        "edgeworks": lua_script(work, "edgeworks", pretty),
        "staticfiles": lua_script(work, "staticfiles", plain),
        "raw": lua_script(work, "raw", plain),
    }
    print(
        f"site: {len(paths)} files, mean {statistics.mean(sizes) / 1024:.1f} KiB, "
        f"{min(sizes) / 1024:.0f}-{max(sizes) / 1024:.0f} KiB",
        flush=True,
    )
    names = ["staticfiles", "raw", "edgeworks"]
    results: dict[str, list[tuple[float, float, int]]] = {n: [] for n in names}
    for round_no in range(ROUNDS):
        for name in names:
            port = free_port()
            proc = start(name, port, work)
            try:
                wait_ok(
                    f"http://127.0.0.1:{port}/index.html"
                    if name != "edgeworks"
                    else f"http://127.0.0.1:{port}/"
                )
                results[name].append(wrk(f"http://127.0.0.1:{port}", scripts[name]))
            finally:
                stop(proc)
            rps, p99, bad = results[name][-1]
            print(
                f"round {round_no + 1} {name:12} {rps:9.0f} req/s  p99 {p99:7.2f} ms  non-200 {bad}",
                flush=True,
            )
    base = statistics.median(r[0] for r in results["staticfiles"])
    ceiling = statistics.median(r[0] for r in results["raw"])
    print(f"\nwrk -t1 -c32 -d{DURATION}, {ROUNDS} rounds interleaved (median of rounds)")
    print(f"{'server':12} {'req/s':>9} {'p99 ms':>8} {'x staticfiles':>14} {'x raw':>7}")
    for name in names:
        rps = statistics.median(r[0] for r in results[name])
        p99 = statistics.median(r[1] for r in results[name])
        print(f"{name:12} {rps:9.0f} {p99:8.2f} {rps / base:13.2f}x {rps / ceiling:6.2f}x")


def deploys(work: Path) -> None:
    from kv import KVNamespace, open_store
    from sites.deploy import HashCache, deploy

    root = work / "big"
    paths = generate(root, files=DEPLOY_FILES, seed=7)
    total = sum((root / p).stat().st_size for p in paths)

    async def run() -> None:
        store = open_store(f"sqlite:///{work}/deploy.sqlite3")
        ns = KVNamespace(store, "__big-workers_sites_assets")
        try:
            figures = []
            for label, kwargs in [
                ("first deploy", {}),
                ("unchanged redeploy", {}),
                ("unchanged redeploy, HashCache filling", {"hash_cache": cache}),
                ("unchanged redeploy, HashCache warm", {"hash_cache": cache}),
            ]:
                began = time.perf_counter()
                result = await deploy(root, ns, **kwargs)
                figures.append((label, time.perf_counter() - began, result.summary()))
            (root / paths[0]).write_bytes(b"changed" * 100)
            began = time.perf_counter()
            result = await deploy(root, ns, hash_cache=cache, only=[root / paths[0]])
            figures.append(
                ("one file changed, HashCache", time.perf_counter() - began, result.summary())
            )
        finally:
            await store.aclose()
        print(f"\ndeploy of {len(paths)} files ({total / 2**20:.0f} MiB) into SQLite")
        for label, seconds, summary in figures:
            print(f"{label:38} {seconds:7.2f} s   {summary}")

    cache = HashCache()
    asyncio.run(run())


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="edgeworks-sites-bench-"))
    try:
        if os.environ.get("SKIP_SERVE") != "1":
            serving(work, small=False)
            if os.environ.get("SKIP_SMALL") != "1":
                serving(work, small=True)
        if os.environ.get("SKIP_DEPLOY") != "1":
            deploys(work)
    except BaseException:
        for log in sorted(work.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-2000:]}", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
