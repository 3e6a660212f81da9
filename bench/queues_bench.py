"""Queues benchmark: end-to-end messages/s on SQLite and Redis (1 and 2 processes),
beside arq and RQ running the same no-op job on the same redis-server in the same
run; send latency; redelivery time after ``kill -9`` of a consumer.

    .venv-bench/bin/python bench/queues_bench.py             # 20,000 messages per figure
    .venv-bench/bin/python bench/queues_bench.py --messages 5000

Needs redis-server on PATH and the ``bench`` extra in a venv of its own (arq pins
redis<6): ``python3 -m venv .venv-bench && .venv-bench/bin/pip install -e '.[bench]'``,
then run it with ``.venv-bench/bin/python``.

Figures:

- end to end: every process runs a consumer (``max_batch_size`` 100, no-op handler)
  and sends its share of the messages with ``send()`` from 32 concurrent tasks; the
  figure is messages / (time from the common start until the queue is empty).
- arq: the same messages enqueued with ``enqueue_job`` from 32 concurrent tasks while
  one arq ``Worker`` (``max_jobs`` 100, burst) runs the no-op job; RQ: ``enqueue`` of
  2,000 jobs (it is two orders of magnitude slower), then one ``SimpleWorker`` (no fork
  per job) in burst mode.
- send latency: 2,000 sequential ``send()`` calls, no consumer running (p50 / p99).
- redelivery: a consumer process claims a batch and is killed with SIGKILL; a new
  consumer process starts at once; the figure is the time from the kill until the
  new process runs the batch again (``visibility_timeout`` = 1 s, process start-up
  included).

Targets: >= 5,000 msg/s end to end on one process with SQLite, >= 2x arq on Redis,
send p99 <= 5 ms on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queues import (
    Consumer,
    ConsumerGroup,
    ConsumerSettings,
    MessageBatch,
    Queue,
    open_queue_store,
)
from tests.redis_support import RedisServer

SENDERS = 32  # concurrent send() tasks per process
BATCH = 100  # max_batch_size of the consumers


async def noop_batch(batch: MessageBatch) -> None:
    return None


async def noop(ctx: object) -> None:
    """The arq job."""
    return None


# RQ refuses jobs defined in __main__: its no-op job is a standard library call.
RQ_NOOP = "time.time"
RQ_MESSAGES = 2000  # RQ runs about 100 jobs/s: fewer jobs give the same rate sooner


# --- one edgeworks process (run as a child: --child) -----------------------------------


async def child(url: str, count: int, start_at: float) -> None:
    store = open_queue_store(url)
    settings = ConsumerSettings(
        "bench", max_batch_size=BATCH, max_batch_timeout=0.01, max_concurrency=4
    )
    group = ConsumerGroup(store, [Consumer(store, settings, noop_batch)])
    jobs = Queue(store, "bench", after_send=group.notify)
    await store.check()
    group.start()
    await asyncio.sleep(max(0.0, start_at - time.time()))

    async def sender(share: int) -> None:
        for n in range(share):
            await jobs.send(n)

    shares = [count // SENDERS + (1 if i < count % SENDERS else 0) for i in range(SENDERS)]
    await asyncio.gather(*(sender(s) for s in shares))
    while (await store.counts("bench", time.time())).backlog:
        await asyncio.sleep(0.005)
    print(json.dumps({"done": time.time()}), flush=True)
    await group.stop(timeout=5)
    await store.aclose()


def end_to_end(url: str, messages: int, processes: int) -> float:
    start_at = time.time() + 2.0  # every child is up and has opened its store by then
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", url, str(messages // processes), str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    done = []
    for proc in children:
        out, _ = proc.communicate(timeout=600)
        done.append(json.loads(out.strip().splitlines()[-1])["done"])
    return messages / (max(done) - start_at)


# --- baselines ------------------------------------------------------------------------------


async def arq_rate(port: int, messages: int) -> float:
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker

    settings = RedisSettings(port=port)
    pool = await create_pool(settings)
    await pool.flushall()
    worker = Worker(
        functions=[noop],
        redis_settings=settings,
        burst=True,
        max_jobs=BATCH,
        poll_delay=0.01,
        keep_result=0,
        handle_signals=False,
    )
    start = time.perf_counter()

    async def sender(share: int) -> None:
        for _ in range(share):
            await pool.enqueue_job("noop")

    shares = [messages // SENDERS] * SENDERS
    await asyncio.gather(*(sender(s) for s in shares))
    await worker.main()
    elapsed = time.perf_counter() - start
    await worker.close()
    await pool.aclose()
    return sum(shares) / elapsed


def rq_rate(port: int, messages: int) -> float:
    from redis import Redis
    from rq import Queue as RQQueue
    from rq import SimpleWorker

    redis = Redis(port=port)
    redis.flushall()
    queue = RQQueue("bench", connection=redis)
    start = time.perf_counter()
    for _ in range(messages):
        queue.enqueue(RQ_NOOP, result_ttl=0)
    SimpleWorker([queue], connection=redis).work(burst=True, logging_level="WARNING")
    return messages / (time.perf_counter() - start)


# --- latency and redelivery ------------------------------------------------------------------


async def send_latency(url: str, count: int = 2000) -> tuple[float, float]:
    store = open_queue_store(url)
    jobs = Queue(store, "latency")
    await jobs.send(0)
    times = []
    for n in range(count):
        start = time.perf_counter()
        await jobs.send(n)
        times.append((time.perf_counter() - start) * 1000)
    await store.purge("latency")
    await store.aclose()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


async def redelivery_child(url: str, hang: bool) -> None:
    store = open_queue_store(url)
    settings = ConsumerSettings("redeliver", max_batch_timeout=0, visibility_timeout=1)

    async def handler(batch: MessageBatch) -> None:
        if hang:
            print("claimed", flush=True)
            await asyncio.sleep(3600)
        print(json.dumps({"redelivered": time.time(), "attempts": batch.messages[0].attempts}))
        sys.stdout.flush()

    consumer = Consumer(store, settings, handler)
    while await consumer.deliver_batch() is None:
        await asyncio.sleep(0.005)
    await store.aclose()


def redelivery(url: str) -> float:
    async def seed() -> None:
        store = open_queue_store(url)
        await store.purge("redeliver")
        await Queue(store, "redeliver").send("job")
        await store.aclose()

    asyncio.run(seed())
    args = [sys.executable, __file__, "--redelivery-child", url]
    first = subprocess.Popen([*args, "hang"], stdout=subprocess.PIPE, text=True)
    assert first.stdout is not None
    assert first.stdout.readline().strip() == "claimed"
    first.send_signal(signal.SIGKILL)
    killed = time.time()
    first.wait()
    out = subprocess.run([*args, "run"], capture_output=True, text=True, timeout=60).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["attempts"] == 2, result
    return float(result["redelivered"]) - killed


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp) / "redis").start()
        try:
            redis_url = server.url
            print(f"messages per figure: {n}; {SENDERS} senders per process; batches of {BATCH}")
            rows = []
            for label, processes in (("1 process", 1), ("2 processes", 2)):
                sqlite_url = f"sqlite:///{tmp}/{processes}/kv.sqlite3"
                rows.append((f"edgeworks SQLite, {label}", end_to_end(sqlite_url, n, processes)))
            for label, processes in (("1 process", 1), ("2 processes", 2)):
                rows.append((f"edgeworks Redis, {label}", end_to_end(redis_url, n, processes)))
            arq = asyncio.run(arq_rate(server.port, n))
            rq = rq_rate(server.port, min(n, RQ_MESSAGES))
            rows += [("arq (1 worker, max_jobs 100)", arq), ("RQ (SimpleWorker)", rq)]
            for label, rate in rows:
                print(f"{label:40s} {rate:9.0f} msg/s  ({rate / arq:.2f}x arq)")
            for label, url in (("SQLite", f"sqlite:///{tmp}/lat/kv.sqlite3"), ("Redis", redis_url)):
                p50, p99 = asyncio.run(send_latency(url))
                print(f"send latency {label:7s} p50 {p50:.3f} ms  p99 {p99:.3f} ms")
            for label, url in (("SQLite", f"sqlite:///{tmp}/re/kv.sqlite3"), ("Redis", redis_url)):
                seconds = redelivery(url)
                print(
                    f"redelivery after kill -9 ({label}, visibility_timeout 1 s): {seconds:.2f} s"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        asyncio.run(child(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--redelivery-child":
        asyncio.run(redelivery_child(sys.argv[2], sys.argv[3] == "hang"))
    else:
        main()
