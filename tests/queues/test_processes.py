"""Queues with real processes: kill -9 of a producer and of serve mid-batch, two
processes sharing a queue (serve --workers 2 on SQLite, two serves on one Redis),
and a dev edit taking effect for the next batch. Lean on purpose: short visibility
timeouts, small batches."""

from __future__ import annotations

import collections
import itertools
import json
import signal
import textwrap
import urllib.request
from pathlib import Path

import pytest

from tests.support import EDGEWORKS, Proc, edgeworks, wait_until

WORKER = """
import asyncio, os, time
from starlette.responses import PlainTextResponse

VERSION = "v1"

async def handle_request(request, env, ctx):
    n = int(request.query_params["n"])
    await env.JOBS.send(n, delay_seconds=int(request.query_params.get("delay", 0)))
    return PlainTextResponse("ok")

async def queue(batch, env, ctx):
    start = time.time()
    bodies = [m.body for m in batch.messages]
    if env.STICK and int(env.STICK) in bodies and batch.messages[0].attempts == 1:
        with open(env.LOG + ".tmp", "w") as f:
            f.write(" ".join(map(str, bodies)))
        os.rename(env.LOG + ".tmp", env.LOG + ".stuck")
        await asyncio.sleep(3600)  # killed here, mid-batch
    await asyncio.sleep(float(env.WORK_S))
    end = time.time()
    with open(env.LOG, "a") as log:
        for m in batch.messages:
            log.write(f"{os.getpid()} {m.body} {m.attempts} {start} {end} {VERSION}\\n")
"""


def write_project(
    root: Path,
    *,
    store: str = "state/kv.sqlite3",
    stick: str = "",
    work_s: float = 0.0,
    visibility_timeout: int = 60,
) -> Path:
    """A project whose consumer logs every delivery; ``visibility_timeout`` is long
    unless a test kills a consumer (a loaded box must not expire a healthy lease)."""
    root.mkdir(parents=True, exist_ok=True)
    log = root / "deliveries.log"
    (root / "worker.py").write_text(WORKER)
    (root / "edgeworks.toml").write_text(
        textwrap.dedent(
            f"""
            name = "jobs"
            main = "worker.py"

            [vars]
            LOG = "{log}"
            STICK = "{stick}"
            WORK_S = "{work_s}"

            [[queues.producers]]
            binding = "JOBS"
            queue = "jobs"

            [[queues.consumers]]
            queue = "jobs"
            max_batch_size = 10
            max_batch_timeout = 0.05
            visibility_timeout = {visibility_timeout}

            [kv]
            store = "{store}"

            [limits]
            drain_ms = 2000
            """
        )
    )
    return log


def deliveries(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [line.split() for line in log.read_text().splitlines() if line.strip()]


def delivered_bodies(log: Path) -> collections.Counter[int]:
    return collections.Counter(int(row[1]) for row in deliveries(log))


def serve(root: Path, *extra: str) -> tuple[Proc, str]:
    proc = edgeworks("serve", "--port", "0", "--no-access-log", *extra, cwd=root)
    url = proc.wait_for(r"Listening on (http://\S+)").group(1)
    return proc, url


PRODUCER = """
import asyncio, sys
from queues import Queue, open_queue_store

async def main():
    store = open_queue_store(sys.argv[1])
    jobs = Queue(store, "jobs")
    n = 0
    while True:
        n += 1
        await jobs.send(n)
        print("acked", n, flush=True)

asyncio.run(main())
"""


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_kill_9_of_producer_and_of_serve_mid_batch_loses_nothing(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    root = tmp_path / "app"
    redis_url = request.getfixturevalue("redis_url") if kind == "redis" else ""
    log = write_project(
        root, stick="500", store=redis_url or "state/kv.sqlite3", visibility_timeout=3
    )
    url_store = redis_url or f"sqlite:///{root}/state/kv.sqlite3"
    producer = Proc([EDGEWORKS[0], "-c", PRODUCER, url_store])
    producer.wait_for(r"^acked 1000$", timeout=30)
    producer.signal(signal.SIGKILL)
    producer.wait()
    # complete lines only: the kill may cut the last one
    acked = {int(line.split()[1]) for line in producer.lines if line.endswith("\n")}
    assert len(acked) >= 1000

    first, _ = serve(root)
    try:
        assert wait_until(lambda: Path(f"{log}.stuck").exists(), timeout=30), first.output
        first.signal(signal.SIGKILL)  # serve dies with a batch leased and unfinished
        first.wait()
    finally:
        first.stop()
    stuck = {int(n) for n in Path(f"{log}.stuck").read_text().split()}
    assert 500 in stuck and not stuck & set(delivered_bodies(log))

    second, _ = serve(root)
    try:
        assert wait_until(lambda: set(delivered_bodies(log)) >= acked, timeout=60), (
            f"missing {len(acked - set(delivered_bodies(log)))} acked messages"
        )
    finally:
        second.stop()
    counts = delivered_bodies(log)
    assert [n for n, c in counts.items() if c > 1] == []  # nothing acked came back
    attempts = {int(r[1]): int(r[2]) for r in deliveries(log)}
    assert {n for n, a in attempts.items() if a > 1} == stuck  # the leased batch, once more


def shared_queue_processes(root: Path, kind: str, redis_url: str) -> list[Proc]:
    if kind == "sqlite, serve --workers 2":
        return [serve(root, "--workers", "2")[0]]
    return [serve(root, "--kv", redis_url)[0], serve(root, "--kv", redis_url)[0]]


@pytest.mark.parametrize("kind", ["sqlite, serve --workers 2", "redis, two serves"])
def test_two_processes_share_a_queue_once_each_within_max_concurrency(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    root = tmp_path / "app"
    log = write_project(root, work_s=0.01)
    redis_url = request.getfixturevalue("redis_url") if kind.startswith("redis") else ""
    url_store = redis_url or f"sqlite:///{root}/state/kv.sqlite3"
    sender = Proc(
        [
            EDGEWORKS[0],
            "-c",
            "import asyncio, sys\n"
            "from queues import Queue, open_queue_store\n"
            "async def main():\n"
            "    store = open_queue_store(sys.argv[1])\n"
            "    for start in range(0, 300, 100):\n"
            "        await Queue(store, 'jobs').send_batch("
            "[{'body': n} for n in range(start, start + 100)])\n"
            "    await store.aclose()\n"
            "    print('sent', flush=True)\n"
            "asyncio.run(main())\n",
            url_store,
        ]
    )
    sender.wait_for("^sent$", timeout=20)
    procs = shared_queue_processes(root, kind, redis_url)
    try:
        assert wait_until(lambda: len(deliveries(log)) >= 300, timeout=60)
    finally:
        for proc in procs:
            assert proc.stop() == 0
    counts = delivered_bodies(log)
    assert sorted(counts) == list(range(300))
    assert sum(counts.values()) - 300 == 0  # duplicates
    batches = sorted({(float(r[3]), float(r[4])) for r in deliveries(log)})
    overlaps = [(a, b) for a, b in itertools.pairwise(batches) if b[0] < a[1]]
    assert overlaps == []  # max_concurrency = 1 across every process


def test_dev_consumer_edit_takes_effect_for_the_next_batch(tmp_path: Path) -> None:
    root = tmp_path / "app"
    log = write_project(root)
    dev = edgeworks("dev", "--port", "0", cwd=root)
    try:
        url = dev.wait_for(r"Listening on (http://\S+)").group(1)
        assert "JOBS  queue producer  jobs" in dev.output
        assert "queue()  consumer  jobs" in dev.output
        urllib.request.urlopen(f"{url}/?n=1").read()
        assert wait_until(lambda: [r[5] for r in deliveries(log)] == ["v1"], timeout=10)
        for n in range(2, 7):  # queued across the edit: delivered after it
            urllib.request.urlopen(f"{url}/?n={n}&delay=2").read()
        worker = root / "worker.py"
        worker.write_text(worker.read_text().replace('VERSION = "v1"', 'VERSION = "v2"'))
        dev.wait_for("Reloaded in")
        counts = json.loads(urllib.request.urlopen(f"{url}/__edgeworks/queues").read())
        [jobs] = [q for q in counts["queues"] if q["name"] == "jobs"]
        assert (jobs["delayed"], jobs["ready"], jobs["dead_lettered"]) == (5, 0, 0)
        assert wait_until(lambda: len(deliveries(log)) == 6, timeout=15), dev.output
        assert [r[5] for r in deliveries(log)] == ["v1"] + ["v2"] * 5
    finally:
        assert dev.stop() == 0
