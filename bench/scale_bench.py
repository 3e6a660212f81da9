"""Scale-out figures: a KV-read worker served by `edgeworks serve` on Redis with 1 and 2
processes (req/s, scaling ratio), the same on SQLite for reference, and how long a
write at one location takes to be served by another (pub/sub vs TTL only).

Run from the repo root: `bash bench/scale_bench.sh` (or `.venv/bin/python
bench/scale_bench.py --help`). Needs redis-server and wrk on PATH. Every process it
starts is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.redis_support import RedisServer
from tests.support import Proc, edgeworks, wait_until

WORKER = """
from starlette.responses import Response

async def handle_request(request, env):
    key = request.query_params.get("k", "k")
    if request.method == "PUT":
        await env.KV.put(key, await request.body())
        return Response("ok")
    value = await env.KV.get(key)
    return Response(value or "", status_code=200 if value is not None else 404)
"""

WRK_SCRIPT = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/r?k=k" .. math.random(1, {keys}))
end
"""

HOT_KEYS = 100  # key space of the "hot" read mix: every read after warm-up is a cache hit
COLD_KEYS = 1_000_000  # key space of the "cold" mix: nearly every read goes to the store
STORED_KEYS = 10_000  # keys written before the runs (k1..k10000)


def project(root: Path, name: str, store: str, invalidation: str, cache_ttl: int = 60) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "worker.py").write_text(WORKER)
    (folder / "edgeworks.toml").write_text(
        f'name = "{name}"\nmain = "worker.py"\n\n[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n\n'
        f'[kv]\nstore = "{store}"\ninvalidation = "{invalidation}"\ncache_ttl = {cache_ttl}\n'
    )
    return folder


def serve(folder: Path, workers: int = 1) -> tuple[Proc, str]:
    proc = edgeworks(
        "serve", "--port", "0", "--workers", str(workers), "--no-access-log", cwd=folder
    )
    url = proc.wait_for(r"Listening on (http://\S+)", timeout=30).group(1)

    def healthy() -> bool:
        try:
            return httpx.get(url + "/__edgeworks/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    assert wait_until(healthy, timeout=20), proc.output
    return proc, url


async def fill(store_url: str) -> None:
    from kv import open_store
    from kv.backends.base import WriteOp

    store = open_store(store_url)
    ops = [WriteOp(f"k{i}", f"value-{i}".encode() * 4) for i in range(1, STORED_KEYS + 1)]
    for start in range(0, len(ops), 1000):
        await store.write_batch("kv", ops[start : start + 1000])
    await store.aclose()


def wrk(url: str, keys: int, seconds: int, connections: int, script_dir: Path) -> tuple[float, str]:
    script = script_dir / f"keys{keys}.lua"
    script.write_text(WRK_SCRIPT.format(keys=keys))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    return rps, p99.group(1) if p99 else "?"


def throughput(args: argparse.Namespace, root: Path, store_url: str, label: str) -> None:
    folder = project(root, f"read-{label}", store_url, "none")
    asyncio.run(fill(store_url))
    results: dict[tuple[int, str], float] = {}
    for workers in (1, 2):
        proc, url = serve(folder, workers)
        try:
            wrk(url, HOT_KEYS, 1, args.connections, root)  # warm-up: imports, caches
            for mix, keys in (("hot", HOT_KEYS), ("cold", COLD_KEYS)):
                rps, p99 = wrk(url, keys, args.seconds, args.connections, root)
                results[(workers, mix)] = rps
                print(f"{label:6} workers={workers} {mix:4}: {rps:8.0f} req/s  p99 {p99}")
        finally:
            proc.stop(timeout=15)
    for mix in ("hot", "cold"):
        ratio = results[(2, mix)] / results[(1, mix)]
        print(f"{label:6} {mix:4} scaling 1 -> 2 processes: {ratio:.2f}x")


def store_latency(root: Path, redis_url: str, ops: int) -> None:
    """In-process cost per operation, against a bare redis-py GET in the same run."""

    async def run() -> None:
        import redis.asyncio as aioredis

        from kv import open_store

        raw = aioredis.Redis.from_url(redis_url)
        await raw.set(b"bench", b"x" * 100)
        redis_store = open_store(redis_url)
        sqlite_store = open_store(f"sqlite:///{root}/latency.sqlite3")
        for store in (redis_store, sqlite_store):
            await store.put("lat", "k", b"x" * 100, None, None)

        async def timed(call: object) -> float:
            assert callable(call)
            for _ in range(200):
                await call()
            start = time.perf_counter()
            for _ in range(ops):
                await call()
            return (time.perf_counter() - start) / ops * 1e6

        base = await timed(lambda: raw.get(b"bench"))
        figures = {
            "redis-py GET (baseline)": base,
            "RedisStore.get 100 B": await timed(lambda: redis_store.get("lat", "k", 0.0)),
            "RedisStore.put 100 B": await timed(
                lambda: redis_store.put("lat", "k", b"x" * 100, None, None)
            ),
            "SQLiteStore.get 100 B": await timed(lambda: sqlite_store.get("lat", "k", 0.0)),
        }
        for name, micros in figures.items():
            print(f"{name:26}: {micros:7.1f} us  ({micros / base:.2f}x the bare GET)")
        await raw.aclose()
        await redis_store.aclose()
        await sqlite_store.aclose()

    asyncio.run(run())


def visibility(args: argparse.Namespace, root: Path, store_url: str) -> None:
    for mode, samples, cache_ttl in (
        ("pubsub", args.samples, 60),
        ("none", args.ttl_samples, 30),
    ):
        if samples <= 0:
            continue
        folder = project(root, f"vis-{mode}", store_url, mode, cache_ttl)
        (pa, ua), (pb, ub) = serve(folder), serve(folder)
        latencies: list[float] = []
        try:
            with httpx.Client(base_url=ua) as a, httpx.Client(base_url=ub) as b:
                for i in range(samples):
                    key = f"vis-{mode}-{i % 10}"
                    a.put("/r", params={"k": key}, content=f"old-{i}")
                    b.get("/r", params={"k": key})  # B now caches the old value
                    value = f"new-{i}"
                    a.put("/r", params={"k": key}, content=value)
                    start = time.perf_counter()
                    while b.get("/r", params={"k": key}).text != value:
                        time.sleep(0.0005 if mode == "pubsub" else 0.05)
                    latencies.append(time.perf_counter() - start)
        finally:
            pa.stop(timeout=15)
            pb.stop(timeout=15)
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        print(
            f"write at A -> served at B, invalidation={mode} (cache_ttl {cache_ttl}s, "
            f"{samples} samples): p50 {p50:.1f} ms  p99 {p99:.1f} ms  max {latencies[-1] * 1000:.1f} ms"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--samples", type=int, default=200, help="pub/sub visibility samples")
    parser.add_argument(
        "--ttl-samples", type=int, default=2, help="TTL-only samples (each waits ~cache_ttl)"
    )
    parser.add_argument("--ops", type=int, default=5000, help="in-process store operations")
    args = parser.parse_args()
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed", file=sys.stderr)
            return 1
    with tempfile.TemporaryDirectory(prefix="ew-scale-") as tmp:
        root = Path(tmp)
        server = RedisServer(root / "redis").start()
        try:
            store_latency(root, server.url, args.ops)
            throughput(args, root, server.url, "redis")
            throughput(args, root, f"sqlite:///{root}/kv.sqlite3", "sqlite")
            visibility(args, root, server.url)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
