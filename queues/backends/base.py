"""The queue store protocol: a handful of primitives over stored messages.

The binding (``queues.Queue``) validates and encodes; the consumer engine
(``queues.Consumer``) decides batching, outcomes, retries and dead-lettering;
a store only keeps messages and leases. Every method takes the queue name, so
one store holds many isolated queues. ``now`` is the caller's clock (epoch
seconds): stores never read the time themselves, so tests drive delays and
leases with a fake clock.

A message is *ready* when ``visible_at <= now``; *delayed* before that; *in
flight* while a claim's lease on it has not expired. ``claim`` leases up to
``limit`` ready messages as one batch (``visible_at = lease deadline``), so a
batch whose process died becomes ready again when its lease expires. At most
``max_concurrency`` unexpired batches of a queue exist at once, across every
process sharing the store. ``attempts`` counts deliveries: each claim adds one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from kv.backends.base import StoreBase


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store: ``visible_at`` is when it may first be delivered."""

    id: str
    body: bytes
    content_type: str
    timestamp: float  # epoch seconds of the send
    visible_at: float


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A claimed message; ``attempts`` counts deliveries including this one.

    ``receipt`` is the store's handle for settling it (a row or stream entry id).
    """

    id: str
    body: bytes
    content_type: str
    timestamp: float
    attempts: int
    receipt: str


@dataclass(frozen=True, slots=True)
class Claim:
    """A leased batch: settle it with ``QueueStore.settle`` before ``deadline``."""

    token: str
    deadline: float
    messages: tuple[StoredMessage, ...]


@dataclass(frozen=True, slots=True)
class Readiness:
    """What a consumer needs to decide whether to claim now.

    ``ready``: ready messages, counted up to the limit asked for; ``oldest``: the
    earliest ``visible_at`` among them (the batch timeout runs from it);
    ``next_at``: the earliest future ``visible_at`` (a delay or lease ending).
    """

    ready: int
    oldest: float | None
    next_at: float | None


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """A queue's backlog: every stored message is exactly one of ready, delayed, in flight."""

    ready: int
    delayed: int
    in_flight: int
    backlog_bytes: int
    oldest_timestamp: float | None  # epoch seconds of the oldest stored message's send

    @property
    def backlog(self) -> int:
        return self.ready + self.delayed + self.in_flight


@dataclass(frozen=True, slots=True)
class Settlement:
    """How a claimed batch ends, applied atomically by ``QueueStore.settle``.

    ``acks``: delete; ``retries``: (message, visible_at) back to the queue (its
    lease released); ``dead``: move to ``dead_letter_queue`` (same id, body,
    timestamp; attempts start again) or delete when it is ``None``.
    """

    acks: tuple[StoredMessage, ...] = ()
    retries: tuple[tuple[StoredMessage, float], ...] = ()
    dead: tuple[StoredMessage, ...] = ()
    dead_letter_queue: str | None = None


@runtime_checkable
class QueueStore(Protocol):
    """What a queue backend implements. See the module docstring for the rules."""

    #: The URL the store was opened with (password masked), for banners and messages.
    url: str

    async def send(self, queue: str, messages: Sequence[NewMessage]) -> None:
        """Store every message (all or nothing); durable when this returns."""
        ...

    async def claim(
        self, queue: str, limit: int, now: float, lease_seconds: float, max_concurrency: int
    ) -> Claim | None:
        """Lease up to ``limit`` ready messages (oldest first) as one batch until
        ``now + lease_seconds``; ``None`` when none is ready or ``max_concurrency``
        unexpired batches of ``queue`` exist already."""
        ...

    async def settle(self, queue: str, claim: Claim, settlement: Settlement, now: float) -> None:
        """Apply a batch's outcome atomically and release its concurrency slot.

        An ack is applied even after the lease expired; a retry only while the
        message is still leased by this claim (else another consumer has it)."""
        ...

    async def readiness(self, queue: str, now: float, limit: int) -> Readiness:
        """Ready messages (up to ``limit``), when the oldest became ready, and the
        next time one becomes ready."""
        ...

    async def counts(self, queue: str, now: float) -> QueueCounts:
        """The backlog of ``queue`` (``metrics()``, the CLI and dev's counts)."""
        ...

    async def list_queues(self) -> list[str]:
        """Names of queues that hold or held messages, sorted."""
        ...

    async def purge(self, queue: str) -> int:
        """Delete every message of ``queue`` (delayed and in flight too); returns how many."""
        ...

    async def transfer(self, source: str, target: str, now: float) -> int:
        """Move every message of ``source`` to ``target``, ready now with attempts reset
        (``retry-dead``); returns how many."""
        ...

    async def sweep(self, older_than: float, limit: int) -> int:
        """Delete up to ``limit`` messages of any queue sent before ``older_than``."""
        ...

    async def check(self) -> None:
        """A quick health check; raises ``StoreUnavailable`` or ``StoreCorrupt``."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads. The store is unusable afterwards."""
        ...


# What every backend shares with KV's: ``async with store:`` closes it on exit.
QueueStoreBase = StoreBase
