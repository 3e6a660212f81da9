"""The producer binding: what a worker sees as ``env.JOBS``.

Everything is validated before anything is written: a bad message or batch
raises and stores nothing. When ``send`` returns, the message is durable.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kv.errors import StoreUnavailable
from queues import _codec, _options
from queues.backends.base import NewMessage, QueueStore
from queues.errors import QueueError
from queues.limits import (
    ID_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_MESSAGES,
    MAX_MESSAGE_BYTES,
    MSG_BATCH_DELAY_INVALID,
    MSG_BATCH_EMPTY,
    MSG_BATCH_ITEM,
    MSG_BATCH_MESSAGE_TOO_LARGE,
    MSG_BATCH_TOO_LARGE,
    MSG_BATCH_TOO_MANY,
    MSG_BODY_NONE,
    MSG_DELAY_INVALID,
    MSG_MESSAGE_TOO_LARGE,
    MSG_STORE_UNAVAILABLE,
    OP_METRICS,
    OP_SEND,
    OP_SEND_BATCH,
    STATUS_TOO_LARGE,
    STATUS_UNAVAILABLE,
)
from queues.names import check_queue_name

_MISSING: Any = object()
_SEND_OPTIONS = ("content_type", "delay_seconds")
_BATCH_OPTIONS = ("delay_seconds",)


def new_message_id() -> str:
    """A message id: 32 random hex characters, as Cloudflare's."""
    return os.urandom(ID_BYTES).hex()


@dataclass(frozen=True, slots=True)
class QueueMetrics:
    """``metrics()``: the backlog of a queue. Item access takes either spelling
    (``m["backlogCount"]``, ``m["backlog_count"]``)."""

    backlog_count: int
    backlog_bytes: int
    oldest_message_timestamp: datetime | None

    def __getitem__(self, name: str) -> Any:
        snake = {
            "backlogCount": "backlog_count",
            "backlogBytes": "backlog_bytes",
            "oldestMessageTimestamp": "oldest_message_timestamp",
        }.get(name, name)
        if snake not in QueueMetrics.__slots__:
            raise KeyError(name)
        return getattr(self, snake)

    @property
    def backlogCount(self) -> int:
        return self.backlog_count

    @property
    def backlogBytes(self) -> int:
        return self.backlog_bytes

    @property
    def oldestMessageTimestamp(self) -> datetime | None:
        return self.oldest_message_timestamp


class Queue:
    """A producer binding: ``await env.JOBS.send(body)``.

    >>> jobs = Queue(store, "jobs")
    >>> await jobs.send({"to": "ada@example.com"})
    >>> await jobs.send("hello", content_type="text", delay_seconds=30)
    >>> await jobs.send_batch([{"body": 1}, {"body": "x", "contentType": "text"}])

    ``delivery_delay`` is the default delay of ``send`` (seconds); ``clock``
    returns epoch seconds; ``after_send(queue)`` runs after every successful
    send (the runtime wakes the local consumer with it).
    """

    __slots__ = ("_after_send", "_clock", "_store", "delivery_delay", "name")

    def __init__(
        self,
        store: QueueStore,
        name: str,
        *,
        delivery_delay: int = 0,
        clock: Callable[[], float] = time.time,
        after_send: Callable[[str], None] | None = None,
    ) -> None:
        self.name = check_queue_name(name)
        self._store = store
        self._clock = clock
        self._after_send = after_send
        self.delivery_delay = _options.delay(delivery_delay, OP_SEND, MSG_DELAY_INVALID)

    def __repr__(self) -> str:
        return f"Queue({self.name!r})"

    async def send(
        self,
        body: Any = _MISSING,
        options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Send one message: ``content_type`` json (default), text or bytes;
        ``delay_seconds`` 0..86400 (default: the producer's ``delivery_delay``)."""
        if body is _MISSING or body is None:
            raise TypeError(MSG_BODY_NONE)
        opts = _options.merge("send()", _SEND_OPTIONS, options, **kwargs)
        kind = _codec.content_type(opts.get("content_type"))
        data = _codec.encode(body, kind)
        if len(data) > MAX_MESSAGE_BYTES:
            raise QueueError(
                OP_SEND,
                STATUS_TOO_LARGE,
                MSG_MESSAGE_TOO_LARGE.format(size=len(data), limit=MAX_MESSAGE_BYTES),
            )
        seconds = self._delay(opts.get("delay_seconds"), None, OP_SEND)
        now = self._clock()
        message = NewMessage(new_message_id(), data, kind, now, now + seconds)
        await self._write(OP_SEND, [message])

    async def send_batch(
        self,
        messages: Iterable[Mapping[str, Any]],
        options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Send up to 100 messages (256000 bytes) at once, all or nothing. Each item is
        ``{"body": ..., "content_type": ..., "delay_seconds": ...}`` (camelCase too);
        ``delay_seconds`` here is the batch's default delay."""
        opts = _options.merge("sendBatch()", _BATCH_OPTIONS, options, **kwargs)
        items = list(messages)
        if not items:
            raise TypeError(MSG_BATCH_EMPTY)
        if len(items) > MAX_BATCH_MESSAGES:
            raise QueueError(
                OP_SEND_BATCH,
                STATUS_TOO_LARGE,
                MSG_BATCH_TOO_MANY.format(count=len(items), limit=MAX_BATCH_MESSAGES),
            )
        batch_delay = opts.get("delay_seconds")
        if batch_delay is not None:
            batch_delay = _options.delay(batch_delay, OP_SEND_BATCH, MSG_BATCH_DELAY_INVALID)
        now = self._clock()
        prepared: list[NewMessage] = []
        total = 0
        for item in items:
            if not isinstance(item, Mapping) or "body" not in item:
                if isinstance(item, Mapping):
                    raise TypeError(MSG_BODY_NONE)
                raise TypeError(MSG_BATCH_ITEM.format(type=type(item).__name__))
            fields = {k: v for k, v in item.items() if k != "body"}
            item_opts = _options.merge("sendBatch() message", _SEND_OPTIONS, fields)
            if item["body"] is None:
                raise TypeError(MSG_BODY_NONE)
            kind = _codec.content_type(item_opts.get("content_type"))
            data = _codec.encode(item["body"], kind)
            if len(data) > MAX_MESSAGE_BYTES:
                raise QueueError(
                    OP_SEND_BATCH,
                    STATUS_TOO_LARGE,
                    MSG_BATCH_MESSAGE_TOO_LARGE.format(size=len(data), limit=MAX_MESSAGE_BYTES),
                )
            total += len(data)
            seconds = self._delay(item_opts.get("delay_seconds"), batch_delay, OP_SEND_BATCH)
            prepared.append(NewMessage(new_message_id(), data, kind, now, now + seconds))
        if total > MAX_BATCH_BYTES:
            raise QueueError(
                OP_SEND_BATCH,
                STATUS_TOO_LARGE,
                MSG_BATCH_TOO_LARGE.format(size=total, limit=MAX_BATCH_BYTES),
            )
        await self._write(OP_SEND_BATCH, prepared)

    sendBatch = send_batch

    async def metrics(self) -> QueueMetrics:
        """The queue's backlog: count, bytes and the oldest message's send time."""
        try:
            counts = await self._store.counts(self.name, self._clock())
        except StoreUnavailable as exc:
            raise _unavailable(OP_METRICS, exc) from exc
        oldest = counts.oldest_timestamp
        return QueueMetrics(
            counts.backlog,
            counts.backlog_bytes,
            datetime.fromtimestamp(oldest, UTC) if oldest is not None else None,
        )

    def _delay(self, given: object, batch: int | None, operation: str) -> int:
        """Per message > per batch > ``delivery_delay``; an explicit 0 counts."""
        if given is not None:
            return _options.delay(given, operation, MSG_DELAY_INVALID)
        return batch if batch is not None else self.delivery_delay

    async def _write(self, operation: str, messages: list[NewMessage]) -> None:
        try:
            await self._store.send(self.name, messages)
        except StoreUnavailable as exc:
            raise _unavailable(operation, exc) from exc
        if self._after_send is not None:
            self._after_send(self.name)


def _unavailable(operation: str, exc: Exception) -> QueueError:
    return QueueError(operation, STATUS_UNAVAILABLE, MSG_STORE_UNAVAILABLE.format(detail=exc))
