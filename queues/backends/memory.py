"""The in-memory queue store: for tests, ``WorkerClient`` and ``--ephemeral``.

Each ``MemoryQueueStore`` is its own empty world. Every method runs without
awaiting in between, so each is atomic on the event loop, as a transaction is.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from queues.backends.base import (
    Claim,
    NewMessage,
    QueueCounts,
    QueueStoreBase,
    Readiness,
    Settlement,
    StoredMessage,
)


@dataclass(slots=True)
class _Record:
    seq: int
    id: str
    body: bytes
    content_type: str
    timestamp: float
    visible_at: float
    attempts: int = 0  # deliveries so far
    lease: str | None = None


@dataclass(slots=True)
class _Queue:
    records: dict[str, _Record] = field(default_factory=dict)  # id -> record
    batches: dict[str, float] = field(default_factory=dict)  # lease token -> deadline


class MemoryQueueStore(QueueStoreBase):
    """Queues in a dict. ``memory://`` URLs open a new one each time.

    >>> store = MemoryQueueStore()
    """

    def __init__(self) -> None:
        self.url = "memory://"
        self._queues: dict[str, _Queue] = {}
        self._seq = itertools.count()
        self._closed = False

    @classmethod
    def from_url(cls, url: str) -> MemoryQueueStore:
        return cls()

    def _queue(self, name: str) -> _Queue:
        found = self._queues.get(name)
        if found is None:
            found = self._queues[name] = _Queue()
        return found

    def _add(self, queue: _Queue, message: NewMessage, visible_at: float) -> None:
        queue.records[message.id] = _Record(
            next(self._seq),
            message.id,
            message.body,
            message.content_type,
            message.timestamp,
            visible_at,
        )

    async def send(self, queue: str, messages: Sequence[NewMessage]) -> None:
        target = self._queue(queue)
        for message in messages:
            self._add(target, message, message.visible_at)

    async def claim(
        self, queue: str, limit: int, now: float, lease_seconds: float, max_concurrency: int
    ) -> Claim | None:
        target = self._queue(queue)
        target.batches = {t: d for t, d in target.batches.items() if d > now}
        if len(target.batches) >= max_concurrency:
            return None
        ready = sorted(
            (r for r in target.records.values() if r.visible_at <= now),
            key=lambda r: (r.visible_at, r.seq),
        )[:limit]
        if not ready:
            return None
        token = uuid.uuid4().hex
        deadline = now + lease_seconds
        target.batches[token] = deadline
        claimed = []
        for record in sorted(ready, key=lambda r: r.seq):
            record.attempts += 1
            record.lease = token
            record.visible_at = deadline
            claimed.append(
                StoredMessage(
                    record.id,
                    record.body,
                    record.content_type,
                    record.timestamp,
                    record.attempts,
                    record.id,
                )
            )
        return Claim(token, deadline, tuple(claimed))

    async def settle(self, queue: str, claim: Claim, settlement: Settlement, now: float) -> None:
        target = self._queue(queue)
        for message in settlement.acks:
            target.records.pop(message.receipt, None)
        for message, visible_at in settlement.retries:
            record = target.records.get(message.receipt)
            if record is not None and record.lease == claim.token:
                record.lease = None
                record.visible_at = visible_at
        dlq = (
            self._queue(settlement.dead_letter_queue)
            if settlement.dead_letter_queue is not None
            else None
        )
        for message in settlement.dead:
            record = target.records.pop(message.receipt, None)
            if record is not None and dlq is not None:
                dlq.records[record.id] = _Record(
                    next(self._seq),
                    record.id,
                    record.body,
                    record.content_type,
                    record.timestamp,
                    now,
                )
        target.batches.pop(claim.token, None)

    async def readiness(self, queue: str, now: float, limit: int) -> Readiness:
        target = self._queues.get(queue)
        if target is None:
            return Readiness(0, None, None)
        ready = [r.visible_at for r in target.records.values() if r.visible_at <= now]
        later = [r.visible_at for r in target.records.values() if r.visible_at > now]
        return Readiness(
            min(len(ready), limit), min(ready) if ready else None, min(later) if later else None
        )

    async def counts(self, queue: str, now: float) -> QueueCounts:
        records = list(self._queues[queue].records.values()) if queue in self._queues else []
        ready = sum(1 for r in records if r.visible_at <= now)
        in_flight = sum(1 for r in records if r.visible_at > now and r.lease is not None)
        return QueueCounts(
            ready=ready,
            delayed=len(records) - ready - in_flight,
            in_flight=in_flight,
            backlog_bytes=sum(len(r.body) for r in records),
            oldest_timestamp=min((r.timestamp for r in records), default=None),
        )

    async def list_queues(self) -> list[str]:
        return sorted(self._queues)

    async def purge(self, queue: str) -> int:
        target = self._queues.get(queue)
        if target is None:
            return 0
        count = len(target.records)
        target.records.clear()
        return count

    async def transfer(self, source: str, target: str, now: float) -> int:
        found = self._queues.get(source)
        if found is None or source == target:
            return 0
        moved = sorted(found.records.values(), key=lambda r: r.seq)
        found.records.clear()
        destination = self._queue(target)
        for record in moved:
            destination.records[record.id] = _Record(
                next(self._seq), record.id, record.body, record.content_type, record.timestamp, now
            )
        return len(moved)

    async def sweep(self, older_than: float, limit: int) -> int:
        removed = 0
        for target in self._queues.values():
            for record in [r for r in target.records.values() if r.timestamp < older_than]:
                if removed >= limit:
                    return removed
                del target.records[record.id]
                removed += 1
        return removed

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        self._closed = True
