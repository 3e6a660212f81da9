"""``MessageBatch`` and ``Message``: what a consumer handler receives, and the
ack/retry bookkeeping that decides each message's fate (first decision wins).

The rules (Cloudflare's, warnings verbatim from workerd, logged to the
``edgeworks.queues`` logger once per call):

=====================================  =========================================
sequence                               effect
=====================================  =========================================
``ack()`` twice                        idempotent
``ack()`` then ``retry()``             retry ignored, warning
``retry()`` then ``ack()``             ack ignored, warning
``retry(a)`` then ``retry(b)``         retried; the last call's delay wins
``ack_all()`` then ``retry()``         ignored, warning
``ack_all()`` then ``ack()``           no-op
``retry_all()`` then ``ack()``         ignored, warning
``retry_all()`` then ``retry(d)``      allowed; the message's delay wins
``ack_all()`` <-> ``retry_all()``      the second is ignored, warning
``ack()``/``retry()`` then ``*_all``   the message keeps its own decision
=====================================  =========================================

After the handler: a message with its own decision keeps it; else ``ack_all``
acks and ``retry_all`` retries; else a handler that returned acks and one
that raised retries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from queues import _codec, _options
from queues.backends.base import StoredMessage
from queues.limits import (
    LOGGER_NAME,
    MSG_RETRY_DELAY_INVALID,
    WARN_ACK_AFTER_RETRY,
    WARN_ACK_AFTER_RETRY_ALL,
    WARN_ACK_ALL_AFTER_RETRY_ALL,
    WARN_RETRY_AFTER_ACK,
    WARN_RETRY_AFTER_ACK_ALL,
    WARN_RETRY_ALL_AFTER_ACK_ALL,
)

logger = logging.getLogger(LOGGER_NAME)

_RETRY_OPTIONS = ("delay_seconds",)
_ACK = "ack"
_RETRY = "retry"


@dataclass(frozen=True, slots=True)
class Decision:
    """A message's fate: ack, or retry after ``delay`` seconds (``None``: the
    consumer's ``retry_delay``)."""

    retry: bool
    delay: int | None = None


class _Decisions:
    """The batch-wide state every ``Message`` of one batch shares."""

    __slots__ = ("ack_all", "explicit", "retry_all", "retry_all_delay")

    def __init__(self) -> None:
        self.ack_all = False
        self.retry_all = False
        self.retry_all_delay: int | None = None
        self.explicit: dict[str, tuple[str, int | None]] = {}  # id -> (kind, delay)


def _retry_delay(options: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> int | None:
    opts = _options.merge("retry()", _RETRY_OPTIONS, options, **kwargs)
    if "delay_seconds" not in opts:
        return None
    return _options.delay(opts["delay_seconds"], "retry", MSG_RETRY_DELAY_INVALID)


class Message:
    """One delivered message.

    ``id`` (32 hex characters), ``timestamp`` (aware UTC ``datetime`` of the send),
    ``body`` (decoded by content type), ``attempts`` (1 on the first delivery).
    """

    __slots__ = ("_decisions", "attempts", "body", "content_type", "id", "timestamp")

    def __init__(self, stored: StoredMessage, decisions: _Decisions) -> None:
        self.id = stored.id
        self.timestamp = datetime.fromtimestamp(stored.timestamp, UTC)
        self.body: Any = _codec.decode(stored.body, stored.content_type)
        self.content_type = stored.content_type
        self.attempts = stored.attempts
        self._decisions = decisions

    def __repr__(self) -> str:
        return f"Message(id={self.id!r}, attempts={self.attempts}, body={self.body!r})"

    def ack(self) -> None:
        """Mark this message delivered, whatever the handler does afterwards."""
        state = self._decisions
        if state.ack_all:
            return
        if state.retry_all:
            logger.warning(WARN_ACK_AFTER_RETRY_ALL.format(id=self.id))
            return
        current = state.explicit.get(self.id)
        if current is not None and current[0] == _RETRY:
            logger.warning(WARN_ACK_AFTER_RETRY.format(id=self.id))
            return
        state.explicit[self.id] = (_ACK, None)

    def retry(self, options: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Deliver this message again after ``delay_seconds`` (default: the
        consumer's ``retry_delay``); it counts as an attempt."""
        delay = _retry_delay(options, kwargs)
        state = self._decisions
        if state.ack_all:
            logger.warning(WARN_RETRY_AFTER_ACK_ALL.format(id=self.id))
            return
        current = state.explicit.get(self.id)
        if current is not None and current[0] == _ACK:
            logger.warning(WARN_RETRY_AFTER_ACK.format(id=self.id))
            return
        state.explicit[self.id] = (_RETRY, delay)


class MessageBatch:
    """A batch of messages of one queue: ``queue`` (name) and ``messages``."""

    __slots__ = ("_decisions", "messages", "queue")

    def __init__(self, queue: str, messages: list[StoredMessage]) -> None:
        self.queue = queue
        self._decisions = _Decisions()
        self.messages: tuple[Message, ...] = tuple(Message(m, self._decisions) for m in messages)

    def __repr__(self) -> str:
        return f"MessageBatch(queue={self.queue!r}, messages={len(self.messages)})"

    def ack_all(self) -> None:
        """Mark every message delivered, even if the handler then raises."""
        state = self._decisions
        if state.retry_all:
            logger.warning(WARN_ACK_ALL_AFTER_RETRY_ALL)
            return
        state.ack_all = True

    def retry_all(self, options: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Deliver every message again after ``delay_seconds`` (messages with their
        own decision keep it)."""
        delay = _retry_delay(options, kwargs)
        state = self._decisions
        if state.ack_all:
            logger.warning(WARN_RETRY_ALL_AFTER_ACK_ALL)
            return
        state.retry_all = True
        if delay is not None:
            state.retry_all_delay = delay

    ackAll = ack_all
    retryAll = retry_all

    def decide(self, succeeded: bool) -> dict[str, Decision]:
        """Each message's fate once the handler returned (``succeeded``) or raised."""
        state = self._decisions
        outcome: dict[str, Decision] = {}
        for message in self.messages:
            own = state.explicit.get(message.id)
            if own is not None:
                # A bare retry() falls back to retry_all()'s delay (message > batch > config).
                delay = own[1] if own[1] is not None else state.retry_all_delay
                outcome[message.id] = Decision(own[0] == _RETRY, delay)
            elif state.ack_all:
                outcome[message.id] = Decision(False)
            elif state.retry_all:
                outcome[message.id] = Decision(True, state.retry_all_delay)
            else:
                outcome[message.id] = Decision(not succeeded)
        return outcome
