"""The queue store contract, over memory, SQLite and Redis, with a fake clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from queues import Consumer, ConsumerSettings, MessageBatch, Queue, QueueStore
from tests.queues.conftest import FakeClock


class Recorder:
    """A handler that records what it saw and can fail on demand."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[tuple[str, object, int]]] = []
        self.fail = fail

    async def __call__(self, batch: MessageBatch) -> None:
        self.batches.append([(m.id, m.body, m.attempts) for m in batch.messages])
        if self.fail:
            raise RuntimeError("boom")

    @property
    def bodies(self) -> list[object]:
        return [body for batch in self.batches for _, body, _ in batch]


def consumer(
    store: QueueStore, clock: FakeClock, handler: Recorder, **settings: object
) -> Consumer:
    return Consumer(store, ConsumerSettings("jobs", **settings), handler, clock=clock)  # type: ignore[arg-type]


async def test_store_round_trip_keeps_body_type_id_and_timestamp(
    store: QueueStore, clock: FakeClock
) -> None:
    jobs = Queue(store, "jobs", clock=clock)
    await jobs.send({"n": 1, "list": [1, None]})
    await jobs.send("text", content_type="text")
    await jobs.send(b"\x00\xff", contentType="bytes")
    seen: list[tuple[str, object, datetime, int]] = []

    async def handler(batch: MessageBatch) -> None:
        assert batch.queue == "jobs"
        seen.extend((m.id, m.body, m.timestamp, m.attempts) for m in batch.messages)

    results = await Consumer(store, ConsumerSettings("jobs"), handler, clock=clock).deliver_ready()
    assert [body for _, body, _, _ in seen] == [{"n": 1, "list": [1, None]}, "text", b"\x00\xff"]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i, _, _, _ in seen)
    assert {ts for _, _, ts, _ in seen} == {datetime.fromtimestamp(clock.now, UTC)}
    assert [attempts for *_, attempts in seen] == [1, 1, 1]
    assert results[0].acked == tuple(i for i, *_ in seen)
    assert (await store.counts("jobs", clock.now)).backlog == 0


async def test_store_batches_by_size_then_by_timeout(store: QueueStore, clock: FakeClock) -> None:
    jobs = Queue(store, "jobs", clock=clock)
    await jobs.send_batch([{"body": i} for i in range(25)])
    handler = Recorder()
    c = consumer(store, clock, handler, max_batch_size=10, max_batch_timeout=5)
    assert len((await c.deliver_batch()).delivered) == 10  # type: ignore[union-attr]
    assert len((await c.deliver_batch()).delivered) == 10  # type: ignore[union-attr]
    assert await c.deliver_batch() is None  # 5 ready: wait for the timeout
    clock.advance(4.9)
    assert await c.deliver_batch() is None
    clock.advance(0.1)
    assert len((await c.deliver_batch()).delivered) == 5  # type: ignore[union-attr]
    assert await c.deliver_batch() is None  # never an empty batch
    assert handler.bodies == list(range(25))


async def test_store_timeout_runs_from_the_oldest_ready_message(
    store: QueueStore, clock: FakeClock
) -> None:
    jobs = Queue(store, "jobs", clock=clock)
    await jobs.send("a", content_type="text")
    clock.advance(3)
    await jobs.send("b", content_type="text")
    c = consumer(store, clock, Recorder(), max_batch_size=10, max_batch_timeout=5)
    clock.advance(1.9)
    assert await c.deliver_batch() is None
    clock.advance(0.1)
    result = await c.deliver_batch()
    assert result is not None and len(result.delivered) == 2


async def test_store_raise_retries_with_attempts_except_explicit_acks(
    store: QueueStore, clock: FakeClock
) -> None:
    jobs = Queue(store, "jobs", clock=clock)
    await jobs.send_batch([{"body": "keep"}, {"body": "again"}])

    async def handler(batch: MessageBatch) -> None:
        batch.messages[0].ack()
        raise RuntimeError("boom")

    c = Consumer(store, ConsumerSettings("jobs"), handler, clock=clock)
    [first] = await c.deliver_ready()
    assert isinstance(first.error, RuntimeError)
    assert len(first.acked) == 1 and len(first.retried) == 1
    second = Recorder()
    c.handler = second  # the next batch runs the new handler
    await c.deliver_ready()
    assert [(body, attempts) for _, body, attempts in second.batches[0]] == [("again", 2)]
    assert (await store.counts("jobs", clock.now)).backlog == 0


async def test_store_ack_all_survives_a_raise(store: QueueStore, clock: FakeClock) -> None:
    await Queue(store, "jobs", clock=clock).send_batch([{"body": 1}, {"body": 2}])

    async def handler(batch: MessageBatch) -> None:
        batch.ack_all()
        raise RuntimeError("boom")

    [result] = await Consumer(store, ConsumerSettings("jobs"), handler, clock=clock).deliver_ready()
    assert len(result.acked) == 2 and result.retried == ()
    assert (await store.counts("jobs", clock.now)).backlog == 0


async def test_store_send_delays_follow_the_clock_and_precedence(
    store: QueueStore, clock: FakeClock
) -> None:
    jobs = Queue(store, "jobs", clock=clock, delivery_delay=30)
    await jobs.send("default", content_type="text")  # delivery_delay: 30
    await jobs.send("zero", content_type="text", delay_seconds=0)  # explicit 0 wins
    await jobs.send_batch([{"body": "batch"}, {"body": "own", "delaySeconds": 5}], delay_seconds=10)
    c = consumer(store, clock, handler := Recorder(), max_batch_timeout=0)
    await c.deliver_ready()
    assert handler.bodies == ["zero"]
    counts = await store.counts("jobs", clock.now)
    assert (counts.ready, counts.delayed) == (0, 3)
    clock.advance(5)
    await c.deliver_ready()
    clock.advance(4.999)
    await c.deliver_ready()
    assert handler.bodies == ["zero", "own"]
    clock.advance(0.001)
    await c.deliver_ready()
    clock.advance(20)
    await c.deliver_ready()
    assert handler.bodies == ["zero", "own", "batch", "default"]


async def test_store_retry_delays_message_over_batch_over_config(
    store: QueueStore, clock: FakeClock
) -> None:
    await Queue(store, "jobs", clock=clock).send_batch([{"body": i} for i in range(3)])

    async def handler(batch: MessageBatch) -> None:
        batch.retry_all(delay_seconds=20)
        batch.messages[0].retry(delaySeconds=5)
        batch.messages[1].retry()  # bare: falls back to the batch delay

    c = Consumer(store, ConsumerSettings("jobs", retry_delay=60), handler, clock=clock)
    await c.deliver_ready()
    later = Recorder()
    c.handler = later
    clock.advance(5)
    await c.deliver_ready()
    assert later.bodies == [0]
    clock.advance(15)
    await c.deliver_ready()
    assert later.bodies[0] == 0 and sorted(later.bodies[1:]) == [1, 2]  # order: best effort

    await Queue(store, "jobs", clock=clock).send("cfg", content_type="text")
    c.handler = Recorder(fail=True)
    await c.deliver_ready()
    clock.advance(59)
    assert await c.deliver_ready() == []
    clock.advance(1)
    c.handler = last = Recorder()
    await c.deliver_ready()
    assert [(b, a) for _, b, a in last.batches[0]] == [("cfg", 2)]


async def test_store_dead_letters_after_max_retries_keeping_id_body_timestamp(
    store: QueueStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await Queue(store, "jobs", clock=clock).send("doomed", content_type="text")
    failing = Recorder(fail=True)
    c = consumer(store, clock, failing, max_retries=2, dead_letter_queue="jobs-dlq")
    with caplog.at_level(logging.WARNING, logger="edgeworks.queues"):
        for _ in range(4):
            await c.deliver_ready()
    assert [attempts for batch in failing.batches for *_, attempts in batch] == [1, 2, 3]
    [message_id] = {i for batch in failing.batches for i, _, _ in batch}
    moved = [r.message for r in caplog.records if "dead letter queue" in r.message]
    assert moved == [
        f'Moving message "{message_id}" on queue "jobs" to dead letter queue "jobs-dlq" '
        "after 3 failed attempts..."
    ]
    dlq = Recorder()
    await Consumer(store, ConsumerSettings("jobs-dlq"), dlq, clock=clock).deliver_ready()
    assert dlq.batches == [[(message_id, "doomed", 1)]]
    assert "jobs-dlq" in await store.list_queues()


async def test_store_drops_after_max_retries_without_dlq(
    store: QueueStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await Queue(store, "jobs", clock=clock).send(1)
    c = consumer(store, clock, Recorder(fail=True), max_retries=0)
    with caplog.at_level(logging.WARNING, logger="edgeworks.queues"):
        [result] = await c.deliver_ready()
    assert len(result.dropped) == 1
    assert [r.message for r in caplog.records if r.message.startswith("Dropped")] == [
        f'Dropped message "{result.dropped[0]}" on queue "jobs" after 1 failed attempts!'
    ]
    assert (await store.counts("jobs", clock.now)).backlog == 0


async def test_store_lease_expiry_redelivers_a_dead_consumers_batch(
    store: QueueStore, clock: FakeClock
) -> None:
    await Queue(store, "jobs", clock=clock).send("x", content_type="text")
    c = consumer(store, clock, handler := Recorder(), visibility_timeout=60)
    claim = await c.claim(force=True)  # a consumer takes the batch and dies
    assert claim is not None and claim.messages[0].attempts == 1
    counts = await store.counts("jobs", clock.now)
    assert (counts.ready, counts.in_flight) == (0, 1)
    clock.advance(59.9)
    assert await c.deliver_ready() == []
    clock.advance(0.1)
    await c.deliver_ready()
    assert [(b, a) for _, b, a in handler.batches[0]] == [("x", 2)]
    # the dead consumer's late retry is ignored: the message is gone, not back
    await store.settle("jobs", claim, _retry_all(claim, clock.now), clock.now)
    assert (await store.counts("jobs", clock.now)).backlog == 0


def _retry_all(claim: object, now: float) -> object:
    from queues import Settlement

    return Settlement(retries=tuple((m, now) for m in claim.messages))  # type: ignore[attr-defined]


async def test_store_max_concurrency_bounds_batches_in_flight(
    store: QueueStore, clock: FakeClock
) -> None:
    await Queue(store, "jobs", clock=clock).send_batch([{"body": i} for i in range(6)])
    one = consumer(store, clock, Recorder(), max_batch_size=2, max_concurrency=2)
    first = await one.claim(force=True)
    second = await one.claim(force=True)
    assert first is not None and second is not None
    assert await one.claim(force=True) is None  # two batches in flight
    await one.process(first)
    third = await one.claim(force=True)
    assert third is not None
    assert {m.id for m in third.messages}.isdisjoint(m.id for m in second.messages)


async def test_store_retention_sweep_drops_old_messages(
    store: QueueStore, clock: FakeClock
) -> None:
    jobs = Queue(store, "jobs", clock=clock)
    await jobs.send("old", content_type="text")
    await jobs.send("old-delayed", content_type="text", delay_seconds=3600)
    clock.advance(100)
    await jobs.send("new", content_type="text")
    assert await store.sweep(clock.now - 50, 1000) == 2
    handler = Recorder()
    clock.advance(4000)
    await consumer(store, clock, handler).deliver_ready()
    assert handler.bodies == ["new"]


async def test_store_purge_transfer_and_metrics(store: QueueStore, clock: FakeClock) -> None:
    dlq = Queue(store, "jobs-dlq", clock=clock)
    await dlq.send_batch([{"body": "a", "contentType": "text"}, {"body": "b"}])
    await dlq.send("later", content_type="text", delay_seconds=100)
    metrics = await dlq.metrics()
    assert metrics.backlog_count == 3 and metrics["backlogBytes"] == len(b'"b"') + 1 + 5
    assert metrics.oldestMessageTimestamp == datetime.fromtimestamp(clock.now, UTC)
    assert await store.transfer("jobs-dlq", "jobs", clock.now) == 3
    assert (await store.counts("jobs-dlq", clock.now)).backlog == 0
    counts = await store.counts("jobs", clock.now)
    assert (counts.ready, counts.delayed) == (3, 0)
    assert await store.purge("jobs") == 3
    assert (await Queue(store, "jobs", clock=clock).metrics()).backlog_count == 0
    assert await store.list_queues() == ["jobs", "jobs-dlq"]
