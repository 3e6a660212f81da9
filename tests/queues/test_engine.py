"""The consumer loop in real time (short timeouts) and Redis outages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from queues import (
    Consumer,
    ConsumerGroup,
    ConsumerSettings,
    MessageBatch,
    Queue,
    QueueError,
    open_queue_store,
)
from tests.queues.conftest import FakeClock
from tests.redis_support import RedisServer


async def test_group_delivers_sends_and_stops_gracefully(tmp_path: Path) -> None:
    store = open_queue_store(f"sqlite:///{tmp_path}/kv.sqlite3")
    seen: list[int] = []
    release = asyncio.Event()

    async def handler(batch: MessageBatch) -> None:
        seen.extend(m.body for m in batch.messages)
        if 99 in seen:
            await release.wait()  # a batch in flight when SIGTERM comes

    settings = ConsumerSettings("jobs", max_batch_size=10, max_batch_timeout=0.05)
    group = ConsumerGroup(store, [Consumer(store, settings, handler)])
    jobs = Queue(store, "jobs", after_send=group.notify)
    group.start()
    try:
        await jobs.send_batch([{"body": i} for i in range(25)])
        async with asyncio.timeout(5):
            while len(seen) < 25:
                await asyncio.sleep(0.01)
        assert sorted(seen) == list(range(25))
        await jobs.send(99)
        async with asyncio.timeout(5):
            while 99 not in seen:
                await asyncio.sleep(0.01)
        stopping = asyncio.create_task(group.stop(timeout=5))
        await asyncio.sleep(0.05)
        assert not stopping.done()  # waits for the batch in flight
        release.set()
        await stopping
        assert (await store.counts("jobs", 0)).backlog == 0  # it was acked
    finally:
        await group.stop(timeout=1)
        await store.aclose()


async def test_group_sweeps_retention(clock: FakeClock) -> None:
    store = open_queue_store("memory://")
    await Queue(store, "jobs", clock=clock).send(1)
    group = ConsumerGroup(store, [], retention=60, clock=clock)
    assert await group.sweep() == 0
    clock.advance(61)
    assert await group.sweep() == 1


async def test_redis_outage_is_a_503_and_recovers_without_restart(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    store = open_queue_store(server.url)
    delivered: list[object] = []

    async def handler(batch: MessageBatch) -> None:
        delivered.extend(m.body for m in batch.messages)

    settings = ConsumerSettings("jobs", max_batch_timeout=0)
    group = ConsumerGroup(store, [Consumer(store, settings, handler)])
    jobs = Queue(store, "jobs", after_send=group.notify)
    group.start()
    try:
        await jobs.send("before")
        server.kill()
        with pytest.raises(QueueError) as err:
            await jobs.send("during")
        assert err.value.status == 503
        assert str(err.value).startswith("Queue send failed: Store unavailable: redis://")
        server.start()  # same port, empty (no persistence)
        await jobs.send("after")
        async with asyncio.timeout(10):
            while "after" not in delivered:
                await asyncio.sleep(0.02)
        assert "during" not in delivered
    finally:
        await group.stop(timeout=2)
        await store.aclose()
        server.stop()


async def test_consumer_waits_a_poll_interval_when_every_slot_is_taken(tmp_path: Path) -> None:
    """A due batch whose slots another process holds is not claimed in a tight loop."""
    store = open_queue_store(f"sqlite:///{tmp_path}/kv.sqlite3")
    await Queue(store, "jobs").send_batch([{"body": i} for i in range(20)])
    # max_batch_timeout 0: the batch is always due, so only the refusal can slow us down
    settings = ConsumerSettings("jobs", max_batch_size=10, max_batch_timeout=0, max_concurrency=1)
    other = Consumer(store, settings, lambda batch: asyncio.sleep(0))
    held = await other.claim(force=True)  # "another process" holds the only slot
    assert held is not None
    claims = 0
    real_claim = store.claim

    async def counting_claim(*args: object, **kwargs: object) -> object:
        nonlocal claims
        claims += 1
        return await real_claim(*args, **kwargs)  # type: ignore[arg-type]

    store.claim = counting_claim  # type: ignore[method-assign]
    stopping = asyncio.Event()
    runner = asyncio.create_task(Consumer(store, settings, other.handler).run(stopping))
    await asyncio.sleep(0.3)
    stopping.set()
    await runner
    assert 1 <= claims <= 0.3 / 0.05 + 2  # about one claim per poll interval
    await store.aclose()


async def test_paused_consumer_claims_nothing_until_resumed() -> None:
    store = open_queue_store("memory://")
    await Queue(store, "jobs").send(1)
    broken = True
    seen: list[object] = []

    async def handler(batch: MessageBatch) -> None:
        seen.extend(m.body for m in batch.messages)

    settings = ConsumerSettings("jobs", max_batch_timeout=0)
    consumer = Consumer(store, settings, handler, paused=lambda: broken)
    stopping = asyncio.Event()
    runner = asyncio.create_task(consumer.run(stopping))
    await asyncio.sleep(0.15)
    assert seen == [] and (await store.counts("jobs", 0)).backlog == 1
    broken = False
    async with asyncio.timeout(5):
        while not seen:
            await asyncio.sleep(0.01)
    stopping.set()
    await runner
    assert seen == [1]
