"""Redis Cluster vs one redis-server: KV reads that miss the edge cache (every request
goes to the store), served by `edgeworks serve` with 1 and 2 processes, and queue
end to end (bench/queues_bench.py's measurement) with 1 and 2 processes, measured in
the same run (ratios cluster / single).

Run from the repo root: `.venv/bin/python bench/cluster_bench.py [--seconds 5]`
(`QUEUE_MESSAGES=N` sets the messages per queue figure, default 10,000).
Needs redis-server, redis-cli and wrk on PATH. It starts one redis-server and a
3-primary cluster on free ports and stops every process by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.queues_bench import end_to_end
from bench.scale_bench import COLD_KEYS, STORED_KEYS, fill, project, serve, wrk
from tests.redis_support import RedisClusterNodes, RedisServer

# Reads of keys that exist (k1..STORED_KEYS) and of random keys out of COLD_KEYS
# (nearly all missing). The edge cache is off (cache_max_bytes = 0), so every read
# costs one store round trip.
MIXES = (("stored", STORED_KEYS), ("random", COLD_KEYS))
# Messages per queue end-to-end figure: 10,000 keeps the four figures near 20 s here.
QUEUE_MESSAGES = int(os.environ.get("QUEUE_MESSAGES", "10000"))


def measure(
    args: argparse.Namespace, folder: Path, root: Path, label: str, workers: int
) -> dict[str, float]:
    """req/s of each read mix with ``workers`` serve processes on ``folder``'s store."""
    results: dict[str, float] = {}
    proc, served = serve(folder, workers)
    try:
        wrk(served, STORED_KEYS, 1, args.connections, root)  # warm-up: imports, pools
        for mix, keys in MIXES:
            rps, p99 = wrk(served, keys, args.seconds, args.connections, root)
            results[f"{workers}:{mix}"] = rps
            print(f"{label:8} workers={workers} {mix:6}: {rps:8.0f} req/s  p99 {p99}")
    finally:
        proc.stop(timeout=15)
    return results


def prepare(root: Path, url: str, label: str) -> Path:
    """A KV-read project on ``url`` with the edge cache off, its keys written."""
    folder = project(root, f"read-{label}", url, "none", cache_ttl=30)
    config = folder / "edgeworks.toml"  # [kv] is its last table
    config.write_text(config.read_text() + "cache_max_bytes = 0\n")
    asyncio.run(fill(url))
    return folder


def per_call(single_url: str, cluster_url: str, calls: int) -> None:
    """In-process cost of one store read (a miss: no cache here), the two stores
    measured in alternating rounds so load on the box hits both alike."""

    async def run() -> None:
        from kv import open_store

        stores = {"redis": open_store(single_url), "cluster": open_store(cluster_url)}
        best = dict.fromkeys(stores, float("inf"))
        for store in stores.values():
            await store.put("lat", "k", b"x" * 100, None, None)
        for _ in range(5):
            for name, store in stores.items():
                start = time.perf_counter()
                for _ in range(calls):
                    await store.get("lat", "k", 0.0)
                best[name] = min(best[name], (time.perf_counter() - start) / calls * 1e6)
        for store in stores.values():
            await store.aclose()
        for name, micros in best.items():
            print(f"{name:8} store.get 100 B, one call at a time: {micros:6.1f} us (best of 5)")
        print(f"cluster / single per call: {best['cluster'] / best['redis']:.2f}x")

    asyncio.run(run())


def queues(single_url: str, cluster_url: str, messages: int) -> None:
    """Queue end to end (send -> no-op consumer -> ack, batches of 100) on each store
    with 1 and 2 processes, the stores alternating so load drifts hit both."""
    rates: dict[tuple[str, int], float] = {}
    for processes in (1, 2):
        for label, url in (("redis", single_url), ("cluster", cluster_url)):
            rates[label, processes] = rate = end_to_end(url, messages, processes)
            print(f"{label:8} queue end to end, processes={processes}: {rate:8.0f} msg/s")
    for processes in (1, 2):
        cluster, single = rates["cluster", processes], rates["redis", processes]
        print(
            f"cluster / single, queue end to end, processes={processes}: "
            f"{cluster / single:.2f}x ({cluster:.0f} vs {single:.0f} msg/s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--calls", type=int, default=2000, help="calls per in-process round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ew-cluster-bench-") as tmp:
        root = Path(tmp)
        single = RedisServer(root / "single").start()
        cluster = RedisClusterNodes(root / "cluster").start()
        try:
            per_call(single.url, cluster.url, args.calls)
            print(f"queue messages per figure: {QUEUE_MESSAGES}")
            queues(single.url, cluster.url, QUEUE_MESSAGES)
            folders = {
                "redis": prepare(root, single.url, "redis"),
                "cluster": prepare(root, cluster.url, "cluster"),
            }
            one: dict[str, float] = {}
            many: dict[str, float] = {}
            for workers in (1, 2):  # the two stores alternate, so load drifts hit both
                one.update(measure(args, folders["redis"], root, "redis", workers))
                many.update(measure(args, folders["cluster"], root, "cluster", workers))
        finally:
            single.stop()
            cluster.stop()
    print()
    for key in one:
        count, mix = key.split(":")
        print(
            f"cluster / single, workers={count} {mix:6}: {many[key] / one[key]:.2f}x "
            f"({many[key]:.0f} vs {one[key]:.0f} req/s)"
        )
    for label, results in (("redis", one), ("cluster", many)):
        for mix, _ in MIXES:
            ratio = results[f"2:{mix}"] / results[f"1:{mix}"]
            print(f"{label:8} {mix:6} scaling 1 -> 2 processes: {ratio:.2f}x")


if __name__ == "__main__":
    main()
