"""Every producer limit at, under and over its boundary, with its message; a
rejected send or batch writes nothing (over every store)."""

from __future__ import annotations

from typing import Any

import pytest

from queues import Queue, QueueError, QueueStore
from queues.limits import MAX_BATCH_BYTES, MAX_DELAY_SECONDS, MAX_MESSAGE_BYTES
from tests.queues.conftest import FakeClock


def text_of(size: int) -> str:
    """A text body of exactly ``size`` serialized bytes."""
    return "x" * size


async def backlog(store: QueueStore, clock: FakeClock) -> int:
    return (await store.counts("jobs", clock.now)).backlog


async def test_send_message_size_at_and_over_the_limit(store: QueueStore, clock: FakeClock) -> None:
    jobs = Queue(store, "jobs", clock=clock)
    await jobs.send(text_of(MAX_MESSAGE_BYTES), content_type="text")
    with pytest.raises(QueueError) as err:
        await jobs.send(text_of(MAX_MESSAGE_BYTES + 1), content_type="text")
    assert str(err.value) == (
        "Queue send failed: message length of 128001 bytes exceeds limit of 128000"
    )
    assert err.value.status == 413
    assert await backlog(store, clock) == 1


async def test_send_batch_count_and_sizes(store: QueueStore, clock: FakeClock) -> None:
    jobs = Queue(store, "jobs", clock=clock)
    await jobs.send_batch([{"body": i} for i in range(100)])
    with pytest.raises(
        QueueError,
        match=r"^Queue sendBatch failed: batch message count of 101 exceeds limit of 100$",
    ):
        await jobs.send_batch([{"body": i} for i in range(101)])
    half = MAX_BATCH_BYTES // 2
    await jobs.send_batch([{"body": text_of(half), "content_type": "text"}] * 2)  # exactly 256000
    with pytest.raises(QueueError) as err:
        await jobs.send_batch(
            [{"body": text_of(n), "content_type": "text"} for n in (100_000, 100_000, 56_001)]
        )
    assert (
        str(err.value)
        == "Queue sendBatch failed: batch size of 256001 bytes exceeds limit of 256000"
    )
    with pytest.raises(QueueError) as err:
        await jobs.send_batch(
            [{"body": 1}, {"body": text_of(MAX_MESSAGE_BYTES + 1), "content_type": "text"}]
        )
    assert str(err.value) == (
        "Queue sendBatch failed: message in batch has length 128001 bytes which exceeds "
        "single message size limit of 128000"
    )
    assert await backlog(store, clock) == 102  # nothing of a rejected batch was written


@pytest.mark.parametrize("delay", [0, 1, MAX_DELAY_SECONDS, 5.0])
async def test_send_delay_accepted(store: QueueStore, clock: FakeClock, delay: Any) -> None:
    await Queue(store, "jobs", clock=clock).send(1, delay_seconds=delay)
    assert await backlog(store, clock) == 1


@pytest.mark.parametrize("delay", [-1, MAX_DELAY_SECONDS + 1, 1.5, True, "5"])
async def test_send_delay_refused(store: QueueStore, clock: FakeClock, delay: Any) -> None:
    jobs = Queue(store, "jobs", clock=clock)
    with pytest.raises(QueueError) as err:
        await jobs.send(1, delay_seconds=delay)
    assert str(err.value) == (
        f"Queue send failed: message delay {delay!r} is invalid: must be an integer from 0 "
        "to 86400 seconds"
    )
    assert err.value.status == 400
    with pytest.raises(QueueError, match="batch delay"):
        await jobs.send_batch([{"body": 1}], delaySeconds=delay)
    with pytest.raises(QueueError, match="message delay"):
        await jobs.send_batch([{"body": 1}, {"body": 2, "delay_seconds": delay}])
    assert await backlog(store, clock) == 0


@pytest.mark.parametrize(
    ("body", "options", "message"),
    [
        (None, {}, "Message body cannot be None"),
        (1, {"content_type": "v8"}, "Unsupported queue message content type: v8"),
        (1, {"contentType": "xml"}, "Unsupported queue message content type: xml"),
        (
            1,
            {"content_type": "text"},
            'Content Type "text" requires a value of type string, but received: int',
        ),
        (
            "s",
            {"content_type": "bytes"},
            'Content Type "bytes" requires a value of type ArrayBufferView, but received: str',
        ),
        ({1, 2}, {}, 'Content Type "json" requires a JSON-serialisable value'),
        (float("nan"), {}, 'Content Type "json" requires a JSON-serialisable value'),
    ],
)
async def test_send_type_errors(
    store: QueueStore, clock: FakeClock, body: Any, options: dict[str, Any], message: str
) -> None:
    jobs = Queue(store, "jobs", clock=clock)
    with pytest.raises(TypeError) as err:
        await jobs.send(body, **options)
    assert str(err.value).startswith(message)
    with pytest.raises(TypeError):
        await jobs.send_batch([{"body": 1}, {"body": body, **options}])
    assert await backlog(store, clock) == 0


async def test_send_content_type_is_case_insensitive(store: QueueStore, clock: FakeClock) -> None:
    await Queue(store, "jobs", clock=clock).send("x", {"contentType": "TEXT"})
    assert await backlog(store, clock) == 1


async def test_send_batch_shape_errors(store: QueueStore, clock: FakeClock) -> None:
    jobs = Queue(store, "jobs", clock=clock)
    with pytest.raises(TypeError, match=r"^sendBatch\(\) requires at least one message$"):
        await jobs.send_batch([])
    with pytest.raises(TypeError, match=r"^Message body cannot be None$"):
        await jobs.send_batch([{"contentType": "text"}])
    with pytest.raises(TypeError, match="must be dicts"):
        await jobs.send_batch(["bare"])  # type: ignore[list-item]
    with pytest.raises(
        TypeError, match=r"^Unknown send\(\) option 'delay': allowed content_type, contentType"
    ):
        await jobs.send(1, delay=3)
    assert await backlog(store, clock) == 0


@pytest.mark.parametrize("name", ["", "-jobs", "jobs-", "a" * 64, "my/ Queue", "jöbs"])
def test_queue_name_refused(name: str) -> None:
    from queues.backends.memory import MemoryQueueStore

    with pytest.raises(ValueError, match=r"queue name .* is invalid: use 1-63 letters"):
        Queue(MemoryQueueStore(), name)


@pytest.mark.parametrize("name", ["a", "A-1", "x" * 63])
def test_queue_name_accepted(name: str) -> None:
    from queues.backends.memory import MemoryQueueStore

    assert Queue(MemoryQueueStore(), name).name == name
