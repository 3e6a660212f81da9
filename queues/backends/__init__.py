"""Queue store backends and ``open_queue_store``: one module per backend plus one
registry line. URLs are KV's (``[kv] store``), so one setting picks both stores."""

from __future__ import annotations

from pathlib import Path

from kv.backends.shared import open_registered
from queues.backends.base import (
    Claim,
    NewMessage,
    QueueCounts,
    QueueStore,
    Readiness,
    Settlement,
    StoredMessage,
)

__all__ = [
    "Claim",
    "NewMessage",
    "QueueCounts",
    "QueueStore",
    "Readiness",
    "Settlement",
    "StoredMessage",
    "open_queue_store",
]

# scheme -> "module:Class"; each class has ``from_url(url) -> QueueStore`` and does no I/O.
_REGISTRY: dict[str, str] = {
    "memory": "queues.backends.memory:MemoryQueueStore",
    "sqlite": "queues.backends.sqlite:SQLiteQueueStore",
    "redis": "queues.backends.redis:RedisQueueStore",
}


def open_queue_store(url: str | Path) -> QueueStore:
    """Open the queue store at a KV store URL: ``memory://`` (a new, empty store),
    ``sqlite:///path`` (the KV file; queue tables beside KV's), ``redis://host:6379/0``
    or a bare path. No I/O happens until first use.

    >>> store = open_queue_store("sqlite:///app/.edgeworks/state/kv.sqlite3")
    """
    store: QueueStore = open_registered(_REGISTRY, url, "queue store")
    return store
