"""What `edgeworks kv bulk put` gains from one write_batch, and what config loading costs.

Run: .venv/bin/python bench/kv_bulk_bench.py [--items N]

Figures (each against a baseline measured in the same run, on a fresh SQLite file):
- bulk put of N items: parse + validate (kv.bulk.parse_put_file) + one write_batch,
  against N separate KVNamespace.put calls (the baseline; what wrangler's local mode does);
- the validation share of the bulk path (parse_put_file alone);
- load_config of a full edgeworks.toml, against tomllib.loads of the same text.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kv import KVNamespace, open_store
from kv.bulk import parse_put_file, write_batch
from runtime.config import load_config

CONFIG = """
name = "bench"
main = "worker.py"
[vars]
GREETING = "hello"
[[kv_namespaces]]
binding = "COUNTER"
id = "counter"
[site]
bucket = "public"
[kv]
store = "sqlite"
[triggers]
crons = ["*/5 * * * *"]
[limits]
cpu_ms = 50
"""


async def bulk_vs_single(folder: Path, items: int) -> None:
    data = json.dumps(
        [{"key": f"key-{i:06d}", "value": "v" * 100, "metadata": {"i": i}} for i in range(items)]
    ).encode()

    store = open_store(folder / "bulk.sqlite3")
    try:
        await store.check()
        start = time.perf_counter()
        ops, _ = parse_put_file(data, now=time.time())
        parsed = time.perf_counter() - start
        await write_batch(KVNamespace(store, "bulk"), ops)
        bulk = time.perf_counter() - start
    finally:
        await store.aclose()

    store = open_store(folder / "single.sqlite3")
    try:
        await store.check()
        ns = KVNamespace(store, "single")
        start = time.perf_counter()
        for i in range(items):
            await ns.put(f"key-{i:06d}", "v" * 100, metadata={"i": i})
        single = time.perf_counter() - start
    finally:
        await store.aclose()

    print(f"bulk put of {items} items into SQLite:")
    print(f"  {items} x KVNamespace.put (baseline): {single * 1000:9.1f} ms")
    print(
        f"  parse_put_file + one write_batch:   {bulk * 1000:9.1f} ms  ({single / bulk:.1f}x faster)"
    )
    print(f"  of which parse + validate:          {parsed * 1000:9.1f} ms  ({parsed / bulk:.0%})")


def config_cost(folder: Path, rounds: int = 200) -> None:
    (folder / "edgeworks.toml").write_text(CONFIG)
    start = time.perf_counter()
    for _ in range(rounds):
        tomllib.loads(CONFIG)
    parse = (time.perf_counter() - start) / rounds
    start = time.perf_counter()
    for _ in range(rounds):
        load_config(cwd=folder, environ={})
    full = (time.perf_counter() - start) / rounds
    print("load_config of a full edgeworks.toml:")
    print(f"  tomllib.loads alone (baseline): {parse * 1e6:8.1f} us")
    print(f"  load_config:                    {full * 1e6:8.1f} us  ({full / parse:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        asyncio.run(bulk_vs_single(folder, args.items))
        config_cost(folder)


if __name__ == "__main__":
    main()
