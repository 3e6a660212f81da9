"""KV store benchmark: memory and SQLite stores through ``KVNamespace`` (the real path a
worker takes), beside raw ``sqlite3`` doing the same work on the same file. Each raw
figure is measured right after the store's figure it is compared with, in the same run
and the same state of the file, and each figure is the best of a few repetitions.

    .venv/bin/python bench/kv_bench.py            # 1,000,000 keys for the list page
    .venv/bin/python bench/kv_bench.py --quick    # 100,000 keys, fewer repetitions

Figures:

- get: ``await ns.get(key, "bytes")`` of a 1 KiB value, 10,000 keys in random order;
  raw: ``SELECT value FROM kv WHERE ns = ? AND key = ?``.
- put: awaited ``ns.put`` of a 1 KiB value one after another (each a committed,
  durable transaction on the store's writer thread); raw: the same upsert in
  autocommit mode on the calling thread (which a server could not do: it blocks the
  event loop whenever another process holds the lock).
- put x100 concurrent: 100 puts in flight at once (``asyncio.gather``), per put; the
  store commits queued puts together.
- bulk put 10k: one ``store.write_batch`` of 10,000 keys (100-byte values), the path of
  ``kv bulk put`` and site deploys; raw: ``executemany`` in one transaction.
- list page: ``ns.list(prefix=..., limit=1000)`` and the next page by cursor, in the
  middle of a namespace of N keys (seeded with batch writes); raw: the same range query.
- check: ``store.check()`` (``PRAGMA quick_check`` over the whole file).

Targets (spec): SQLite get >= 0.5x raw SELECT; a 1000-key list page <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from kv import KVNamespace, open_store
from kv.backends import Store, WriteOp
from kv.backends import _sqlite_db as db

VALUE_1K = os.urandom(1024)
SEED_BATCH = 50_000  # keys per write_batch while seeding the list namespace
REPEATS = 3  # each figure is the best of this many runs


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


async def _best(work: Callable[[], Awaitable[object]], repeats: int = REPEATS) -> float:
    """The shortest of ``repeats`` timed runs, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        await work()
        times.append(time.perf_counter() - start)
    return min(times)


def _best_sync(work: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


class Raw:
    """Plain sqlite3 on the store's file, on the calling thread: the baseline."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA synchronous = NORMAL")  # the store's default durability

    def gets(self, keys: list[str]) -> None:
        for key in keys:
            self.conn.execute(
                "SELECT value FROM kv WHERE ns = ? AND key = ?", ("bench", key.encode())
            ).fetchone()

    def puts(self, count: int, tag: str) -> None:
        for i in range(count):
            self.conn.execute(db.UPSERT, ("raw", f"{tag}/{i:06}".encode(), None, None, VALUE_1K))

    def bulk(self, ops: list[WriteOp]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(
            db.UPSERT, (("raw", op.key.encode(), None, None, op.value) for op in ops)
        )
        self.conn.execute("COMMIT")

    def list_page(self, prefix: str) -> None:
        sql, params = db.list_query("listing", prefix.encode(), None, 1001, time.time())
        assert len(self.conn.execute(sql, params).fetchall()) == 1001


async def bench_store(
    store: Store, args: argparse.Namespace, out: dict[str, float], raw_path: Path | None = None
) -> dict[str, float]:
    """Fill ``out`` with the store's figures; return the raw baseline's (if a path)."""
    raw = Raw(raw_path) if raw_path else None
    base: dict[str, float] = {}
    ns = KVNamespace(store, "bench")
    keys = [f"get/{i:06}" for i in range(args.keys)]
    await store.write_batch("bench", [WriteOp(k, VALUE_1K) for k in keys])
    order = random.Random(1).choices(keys, k=args.gets)

    async def gets() -> None:
        for key in order:
            await ns.get(key, "bytes")

    await gets()  # warm the page cache and the statement caches
    out["get"] = _rate(len(order), await _best(gets))
    if raw:
        raw.gets(order)
        base["get"] = _rate(len(order), _best_sync(lambda: raw.gets(order)))

    round_ = iter(range(1_000_000))

    async def puts() -> None:
        tag = f"put{next(round_)}"
        for i in range(args.puts):
            await ns.put(f"{tag}/{i:06}", VALUE_1K)

    out["put"] = _rate(args.puts, await _best(puts))
    if raw:
        base["put"] = _rate(args.puts, _best_sync(lambda: raw.puts(args.puts, "put")))

    async def concurrent_puts() -> None:
        tag = f"cput{next(round_)}"
        for start in range(0, args.puts, 100):
            await asyncio.gather(
                *(ns.put(f"{tag}/{i:06}", VALUE_1K) for i in range(start, start + 100))
            )

    out["put x100 concurrent"] = _rate(args.puts, await _best(concurrent_puts))

    bulk = [WriteOp(f"bulk/{i:05}", VALUE_1K[:100]) for i in range(10_000)]
    out["bulk put 10k (ms)"] = 1000 * await _best(lambda: store.write_batch("bench", bulk))
    if raw:
        base["bulk put 10k (ms)"] = 1000 * _best_sync(lambda: raw.bulk(bulk))

    seed_start = time.perf_counter()
    for start in range(0, args.list_keys, SEED_BATCH):
        ops = [
            WriteOp(f"item/{i:07}", b"v")
            for i in range(start, min(start + SEED_BATCH, args.list_keys))
        ]
        await store.write_batch("listing", ops)
    out[f"seed {args.list_keys:,} (s)"] = time.perf_counter() - seed_start

    listing = KVNamespace(store, "listing")
    prefix = _middle_prefix(args.list_keys)
    times = []
    for _ in range(args.pages):
        start = time.perf_counter()
        page = await listing.list(prefix=prefix, limit=1000)
        next_page = await listing.list(prefix=prefix, limit=1000, cursor=page.cursor)
        times.append((time.perf_counter() - start) / 2)
        assert len(page.keys) == len(next_page.keys) == 1000
    out["list page (ms)"] = 1000 * statistics.median(times)
    if raw:
        times = []
        for _ in range(args.pages):
            times.append(_best_sync(lambda: raw.list_page(prefix), repeats=1))
        base["list page (ms)"] = 1000 * statistics.median(times)
        raw.conn.close()

    out["check (s)"] = await _best(store.check, repeats=1)
    return base


def _middle_prefix(count: int) -> str:
    """A prefix of one tenth of the seeded keys, starting half-way through them."""
    return f"item/{count // 2:07}"[: 1 - len(str(count // 10))]


def _cell(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 list keys, fewer ops")
    parser.add_argument("--dir", help="folder for the SQLite file (default: a temp folder)")
    args = parser.parse_args()
    args.keys = 10_000
    args.gets = 20_000 if args.quick else 50_000
    args.puts = 500 if args.quick else 2_000
    args.pages = 20 if args.quick else 50
    args.list_keys = 100_000 if args.quick else 1_000_000

    folder = Path(args.dir or tempfile.mkdtemp(prefix="edgeworks-kv-bench-"))
    path = folder / "kv.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    memory: dict[str, float] = {}
    sqlite: dict[str, float] = {}
    async with open_store("memory://") as store:
        await bench_store(store, args, memory)
    async with open_store(f"sqlite://{path}") as store:
        raw = await bench_store(store, args, sqlite, raw_path=path)
    size_mb = path.stat().st_size / 1e6

    print(
        f"edgeworks KV bench: {args.gets:,} gets, {args.puts:,} puts, "
        f"{args.list_keys:,} keys in the list namespace; SQLite {sqlite3.sqlite_version}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; file {path} ({size_mb:.0f} MB)"
    )
    header = f"{'':<26}{'memory':>11}{'sqlite':>11}{'raw sqlite3':>13}{'sqlite/raw':>12}"
    print(header)
    print("-" * len(header))
    for name, value in sqlite.items():
        base = raw.get(name)
        ratio = f"{value / base:.2f}x" if base else ""
        label = name if "(" in name else f"{name} (ops/s)"
        print(
            f"{label:<26}{_cell(memory.get(name)):>11}{_cell(value):>11}{_cell(base):>13}{ratio:>12}"
        )
    get_ratio = sqlite["get"] / raw["get"]
    page_ms = sqlite["list page (ms)"]
    print(
        f"targets: sqlite get >= 0.5x raw: {get_ratio:.2f}x "
        f"{'OK' if get_ratio >= 0.5 else 'MISSED'}; "
        f"list page <= 20 ms: {page_ms:.2f} ms {'OK' if page_ms <= 20 else 'MISSED'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
