"""The admin API on a big namespace, beside the same work through KVNamespace.

Run: .venv/bin/python bench/admin_bench.py [--keys 1000000] [--rounds 40]

The API is served by uvicorn in a child process (this script with ``--serve``)
over a SQLite store of ``--keys`` keys; the client is httpx with keep-alive.
Figures, each beside a baseline measured in the same run on the same file:

- keys page: ``GET .../keys?limit=1000`` at pages spread over the namespace
  (p50/p90), against ``KVNamespace.list(limit=1000)`` at the same cursors;
- bulk write of 10,000 items (``PUT .../bulk``, wrangler's JSON), against
  ``kv.bulk.parse_put_file`` + ``write_batch`` on a ``KVNamespace`` (the same
  work in-process) and against 10,000 ``KVNamespace.put`` calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kv import KVNamespace, open_store
from kv.backends import WriteOp
from kv.bulk import parse_put_file, write_batch

NS = "big"
BULK_ITEMS = 10_000
PAGE = 1000
BASE = "/__edgeworks/api/client/v4/accounts/bench/storage/kv/namespaces"


def serve(port: int, store_path: str) -> None:
    import uvicorn

    from runtime.admin import AdminApp, AdminState

    app = AdminApp(AdminState(open_store(store_path)))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


async def populate(path: Path, keys: int) -> float:
    store = open_store(path)
    start = time.perf_counter()
    batch = 10_000
    for first in range(0, keys, batch):
        ops = [WriteOp(f"key-{i:07d}", b"v" * 64) for i in range(first, min(first + batch, keys))]
        await store.write_batch(NS, ops)
    await store.aclose()
    return time.perf_counter() - start


async def ns_pages(path: Path, rounds: int, keys: int) -> tuple[list[str], list[float]]:
    """Cursors spread over the namespace, and KVNamespace.list timings at them."""
    store = open_store(path)
    ns = KVNamespace(store, NS)
    every = max(1, keys // PAGE // rounds)
    cursors: list[str] = [""]
    cursor: str | None = None
    page_no = 0
    while True:
        page = await ns.list(limit=PAGE, cursor=cursor)
        if page.list_complete or len(cursors) >= rounds:
            break
        cursor = page.cursor
        page_no += 1
        if page_no % every == 0 and cursor:
            cursors.append(cursor)
    times = []
    for c in cursors:
        start = time.perf_counter()
        page = await ns.list(limit=PAGE, cursor=c or None)
        times.append(time.perf_counter() - start)
        assert len(page.keys) == PAGE
    await store.aclose()
    return cursors, times


def bulk_body(tag: str) -> bytes:
    items = [
        {"key": f"{tag}-{i:05d}", "value": "v" * 100, "metadata": {"i": i}}
        for i in range(BULK_ITEMS)
    ]
    return json.dumps(items).encode()


async def ns_bulk(path: Path, rounds: int) -> tuple[list[float], float]:
    store = open_store(path)
    ns = KVNamespace(store, "bulk-ns")
    batch_times = []
    for r in range(rounds):
        body = bulk_body(f"ns{r}")
        start = time.perf_counter()
        ops, _ = parse_put_file(body, now=time.time())
        await write_batch(ns, ops)
        batch_times.append(time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(BULK_ITEMS):
        await ns.put(f"single-{i:05d}", "v" * 100, metadata={"i": i})
    singles = time.perf_counter() - start
    await store.aclose()
    return batch_times, singles


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    import httpx

    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--bulk-rounds", type=int, default=5)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "STORE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kv.sqlite3"
        took = asyncio.run(populate(path, args.keys))
        print(f"populated {args.keys:,} keys in {took:.1f} s")
        cursors, ns_times = asyncio.run(ns_pages(path, args.rounds, args.keys))

        from socket import socket

        with socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), str(path)],
            stdout=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=url, timeout=60) as client:
                for _ in range(200):
                    try:
                        client.get(f"{BASE}/{NS}")
                        break
                    except httpx.TransportError:
                        time.sleep(0.05)
                for c in cursors[:3]:  # warm-up
                    client.get(f"{BASE}/{NS}/keys", params={"limit": PAGE, "cursor": c})
                api_times = []
                for c in cursors:
                    start = time.perf_counter()
                    r = client.get(f"{BASE}/{NS}/keys", params={"limit": PAGE, "cursor": c})
                    api_times.append(time.perf_counter() - start)
                    assert len(r.json()["result"]) == PAGE
                bulk_api = []
                client.post(BASE, json={"title": "bulk-api"})
                for r_ in range(args.bulk_rounds):
                    body = bulk_body(f"api{r_}")
                    start = time.perf_counter()
                    r = client.put(
                        f"{BASE}/bulk-api/bulk",
                        content=body,
                        headers={"content-type": "application/json"},
                    )
                    bulk_api.append(time.perf_counter() - start)
                    assert r.json()["result"]["successful_key_count"] == BULK_ITEMS, r.text
        finally:
            server.terminate()
            server.wait(10)
        bulk_ns, singles = asyncio.run(ns_bulk(path, args.bulk_rounds))

    p50_api, p50_ns = ms(api_times, 0.5), ms(ns_times, 0.5)
    print(f"keys page of {PAGE} from {args.keys:,} keys ({len(cursors)} pages spread over it):")
    print(
        f"  API           p50 {p50_api:6.1f} ms  p90 {ms(api_times, 0.9):6.1f} ms  (target <= 30 ms p50)"
    )
    print(f"  KVNamespace   p50 {p50_ns:6.1f} ms  p90 {ms(ns_times, 0.9):6.1f} ms")
    print(f"  ratio API / KVNamespace: {p50_api / p50_ns:.2f}x")
    b_api, b_ns = statistics.median(bulk_api), statistics.median(bulk_ns)
    print(f"bulk write of {BULK_ITEMS:,} items (median of {args.bulk_rounds}):")
    print(f"  API PUT /bulk                      {b_api * 1000:7.0f} ms  (target <= 1000 ms)")
    print(f"  KVNamespace parse + write_batch    {b_ns * 1000:7.0f} ms  (API {b_api / b_ns:.2f}x)")
    print(
        f"  KVNamespace.put x {BULK_ITEMS:,}          {singles * 1000:7.0f} ms  (API {b_api / singles:.2f}x)"
    )


if __name__ == "__main__":
    main()
