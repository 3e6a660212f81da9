"""Every row of the ack/retry precedence table, warnings included."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from queues import MessageBatch, QueueError, StoredMessage
from queues._batch import Decision

A, B = "a" * 32, "b" * 32
Step = Callable[[MessageBatch], None]


def make_batch() -> MessageBatch:
    return MessageBatch(
        "jobs",
        [StoredMessage(i, b'"x"', "json", 1_800_000_000.0, 1, i) for i in (A, B)],
    )


def ack(i: int) -> Step:
    return lambda batch: batch.messages[i].ack()


def retry(i: int, delay: int | None = None) -> Step:
    return lambda batch: batch.messages[i].retry(delay_seconds=delay)


def ack_all(batch: MessageBatch) -> None:
    batch.ack_all()


def retry_all(batch: MessageBatch, delay: int | None = None) -> None:
    batch.retry_all(delaySeconds=delay)


WARN = {
    "retry-after-ack": (
        f"Received a call to retry() on message {A} after ack() was already called. "
        "Calling retry() on a message after calling ack() has no effect."
    ),
    "ack-after-retry": (
        f"Received a call to ack() on message {A} after retry() was already called. "
        "Calling ack() on a message after calling retry() has no effect."
    ),
    "retry-after-ackall": (
        f"Received a call to retry() on message {A} after ackAll() was already called. "
        "Calling retry() on a message after calling ackAll() has no effect."
    ),
    "ack-after-retryall": (
        f"Received a call to ack() on message {A} after retryAll() was already called. "
        "Calling ack() on a message after calling retryAll() has no effect."
    ),
    "retryall-after-ackall": (
        "Received a call to retryAll() after ackAll() was already called. "
        "Calling retryAll() after calling ackAll() has no effect."
    ),
    "ackall-after-retryall": (
        "Received a call to ackAll() after retryAll() was already called. "
        "Calling ackAll() after calling retryAll() has no effect."
    ),
}

ACKED, RETRIED = Decision(False), Decision(True)

# (steps, handler succeeded, decision of A, decision of B, warnings)
ROWS = {
    "ack twice": ([ack(0), ack(0)], False, ACKED, RETRIED, []),
    "ack then retry": ([ack(0), retry(0)], True, ACKED, ACKED, ["retry-after-ack"]),
    "retry then ack": ([retry(0), ack(0)], True, RETRIED, ACKED, ["ack-after-retry"]),
    "retry then retry: last options win": (
        [retry(0, 30), retry(0)],
        True,
        RETRIED,
        ACKED,
        [],
    ),
    "ackAll then retry": ([ack_all, retry(0)], False, ACKED, ACKED, ["retry-after-ackall"]),
    "ackAll then ack": ([ack_all, ack(0)], False, ACKED, ACKED, []),
    "retryAll then ack": ([retry_all, ack(0)], True, RETRIED, RETRIED, ["ack-after-retryall"]),
    "retryAll then retry(d)": (
        [lambda b: retry_all(b, 10), retry(0, 5)],
        True,
        Decision(True, 5),
        Decision(True, 10),
        [],
    ),
    "ackAll then retryAll": ([ack_all, retry_all], False, ACKED, ACKED, ["retryall-after-ackall"]),
    "retryAll then ackAll": (
        [retry_all, ack_all],
        True,
        RETRIED,
        RETRIED,
        ["ackall-after-retryall"],
    ),
    "ack then retryAll": ([ack(0), retry_all], True, ACKED, RETRIED, []),
    "retry then ackAll": ([retry(0, 7), ack_all], False, Decision(True, 7), ACKED, []),
    "nothing, returned": ([], True, ACKED, ACKED, []),
    "nothing, raised": ([], False, RETRIED, RETRIED, []),
}


@pytest.mark.parametrize("row", ROWS, ids=list(ROWS))
def test_batch_precedence_row(row: str, caplog: pytest.LogCaptureFixture) -> None:
    steps, succeeded, first, second, warnings = ROWS[row]
    batch = make_batch()
    with caplog.at_level(logging.WARNING, logger="edgeworks.queues"):
        for step in steps:
            step(batch)
    assert batch.decide(succeeded) == {A: first, B: second}
    assert [r.message for r in caplog.records] == [WARN[w] for w in warnings]


def test_batch_retry_delay_is_validated() -> None:
    batch = make_batch()
    with pytest.raises(QueueError, match="retry delay 86401 is invalid"):
        batch.messages[0].retry(delay_seconds=86401)
    with pytest.raises(QueueError, match="retry delay -1 is invalid"):
        batch.retryAll({"delaySeconds": -1})
    with pytest.raises(TypeError, match=r"Unknown retry\(\) option 'delay'"):
        batch.retry_all(delay=1)


def test_batch_message_fields() -> None:
    batch = make_batch()
    message = batch.messages[0]
    assert (message.id, message.body, message.attempts) == (A, "x", 1)
    assert message.timestamp.tzinfo is not None
    assert batch.queue == "jobs" and len(batch.messages) == 2
