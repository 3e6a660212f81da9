"""KVNamespace benchmark: what the facade (validation, encoding, expiry, cursors, the
edge cache) costs on top of the memory store, each beside a baseline measured in
the same run.

    .venv/bin/python bench/kv_namespace_bench.py            # 1,000,000 keys for list
    .venv/bin/python bench/kv_namespace_bench.py --quick    # 100,000 keys

Figures:

- get: ``await ns.get(key)`` of a 100-byte value vs ``await store.get(...)`` (the
  namespace's overhead over the store); with an edge cache, a HIT vs the same miss.
- put: ``await ns.put(key, value, metadata=...)`` vs ``await store.put(...)``.
- list page: ``ns.list(limit=1000, cursor=...)`` in the middle of a namespace of N keys
  vs the same page of a namespace of 10,000 keys (O(limit), not O(N)).
- streamed put: a 25 MiB async-iterable put in 64 KiB chunks: peak traced memory as a
  multiple of the value size (one buffer, not two) and MB/s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kv import EdgeCache, KVNamespace
from kv._cursor import encode_cursor
from kv.backends import WriteOp
from kv.backends.memory import MemoryStore
from kv.limits import MAX_VALUE_BYTES

VALUE = b"x" * 100
NOW = 1_700_000_000.0


async def per_op_us(work: Callable[[int], Awaitable[object]], count: int) -> float:
    """Microseconds per call of ``work(i)``, best of three runs."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for i in range(count):
            await work(i)
        best = min(best, time.perf_counter() - start)
    return best / count * 1e6


async def bench_get_put(count: int) -> None:
    store = MemoryStore()
    ns = KVNamespace(store, "b", clock=lambda: NOW)
    keys = [f"key:{i:08d}" for i in range(count)]
    await store.write_batch("b", [WriteOp(k, VALUE) for k in keys])

    raw = await per_op_us(lambda i: store.get("b", keys[i], NOW), count)
    facade = await per_op_us(lambda i: ns.get(keys[i]), count)
    print(f"get      store {raw:6.2f} us   namespace {facade:6.2f} us   ratio {facade / raw:4.1f}x")

    cached = KVNamespace(store, "b", clock=lambda: NOW, cache=EdgeCache())
    miss_ns = KVNamespace(store, "b", clock=lambda: NOW, cache=EdgeCache())
    for key in keys:
        await cached.get(key)
    hit = await per_op_us(lambda i: cached.get(keys[i]), count)
    miss = await per_op_us(lambda i: miss_ns.get(keys[i], cache_ttl=30 + i % 2), count)
    print(f"get+cache  HIT {hit:6.2f} us   MISS {miss:6.2f} us   ratio {miss / hit:4.1f}x")

    raw = await per_op_us(lambda i: store.put("b", keys[i], VALUE, None, '{"m":1}'), count)
    facade = await per_op_us(lambda i: ns.put(keys[i], VALUE, metadata={"m": 1}), count)
    print(f"put      store {raw:6.2f} us   namespace {facade:6.2f} us   ratio {facade / raw:4.1f}x")


async def page_ms(size: int) -> float:
    store = MemoryStore()
    ns = KVNamespace(store, "b", clock=lambda: NOW)
    batch = 50_000
    for start in range(0, size, batch):
        ops = [WriteOp(f"key:{i:08d}", b"") for i in range(start, min(size, start + batch))]
        await store.write_batch("b", ops)
    middle = encode_cursor("b", "", f"key:{size // 2:08d}")  # as list() would issue it
    pages = 20
    best = float("inf")
    for _ in range(3):
        cursor = middle
        started = time.perf_counter()
        for _ in range(pages):
            page = await ns.list(limit=1000, cursor=cursor)
            cursor = page.cursor
        best = min(best, time.perf_counter() - started)
    return best / pages * 1000


async def bench_list(size: int) -> None:
    small = await page_ms(10_000)
    big = await page_ms(size)
    print(
        f"list page (1000 keys)  10k keys {small:6.2f} ms   {size:,} keys {big:6.2f} ms"
        f"   ratio {big / small:4.2f}x"
    )


async def bench_streamed_put() -> None:
    store = MemoryStore()
    ns = KVNamespace(store, "b", clock=lambda: NOW)
    chunk = bytes(64 * 1024)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(MAX_VALUE_BYTES // len(chunk)):
            yield chunk

    tracemalloc.start()
    started = time.perf_counter()
    await ns.put("big", body())
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # The memory store keeps its own bytes copy; the namespace itself holds one buffer.
    print(
        f"streamed put 25 MiB   {MAX_VALUE_BYTES / elapsed / 1e6:7.1f} MB/s"
        f"   peak traced {peak / MAX_VALUE_BYTES:4.2f}x value size (namespace buffer + store copy)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 keys for list")
    args = parser.parse_args()
    size = 100_000 if args.quick else 1_000_000
    print(f"python {sys.version.split()[0]}, memory store")
    await bench_get_put(20_000)
    await bench_list(size)
    await bench_streamed_put()


if __name__ == "__main__":
    asyncio.run(main())
