"""edgeworks Queues: durable job queues with Cloudflare Queues semantics.

Producing (what a worker sees as ``env.JOBS``)::

    >>> from queues import Queue, open_queue_store
    >>> store = open_queue_store("sqlite:///app/.edgeworks/state/kv.sqlite3")
    >>> jobs = Queue(store, "jobs")
    >>> await jobs.send({"to": "ada@example.com"}, delay_seconds=10)

Consuming (the runtime wraps a worker's ``queue(batch, env, ctx)``; any async
callable taking a ``MessageBatch`` works)::

    >>> from queues import Consumer, ConsumerSettings
    >>> async def handler(batch):
    ...     for message in batch.messages:
    ...         print(message.id, message.body, message.attempts)
    >>> consumer = Consumer(store, ConsumerSettings("jobs", max_batch_size=10), handler)
    >>> await consumer.deliver_ready()          # or ConsumerGroup([...]).start()

Stores (``QueueStore``) take the URL of the KV store (``memory://``,
``sqlite:///path``, ``redis://host:6379/0``); every limit and message is in
``queues.limits``; errors are ``QueueError`` (with ``status``) or ``TypeError``
as in Workers. Behaviour and guarantees: docs/queues.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from queues._batch import Message, MessageBatch
    from queues._producer import Queue, QueueMetrics
    from queues.backends import open_queue_store
    from queues.backends.base import (
        Claim,
        NewMessage,
        QueueCounts,
        QueueStore,
        Readiness,
        Settlement,
        StoredMessage,
    )
    from queues.engine import (
        BatchHandler,
        BatchResult,
        Consumer,
        ConsumerGroup,
        ConsumerSettings,
    )
    from queues.errors import QueueError
    from queues.names import check_queue_name

__all__ = [
    "BatchHandler",
    "BatchResult",
    "Claim",
    "Consumer",
    "ConsumerGroup",
    "ConsumerSettings",
    "Message",
    "MessageBatch",
    "NewMessage",
    "Queue",
    "QueueCounts",
    "QueueError",
    "QueueMetrics",
    "QueueStore",
    "Readiness",
    "Settlement",
    "StoredMessage",
    "check_queue_name",
    "open_queue_store",
]

# Imported on first use: the config reads ``queues.limits`` on every start, and a
# serve without queues never needs the stores or the engine.
_WHERE = {
    "Message": "queues._batch",
    "MessageBatch": "queues._batch",
    "Queue": "queues._producer",
    "QueueMetrics": "queues._producer",
    "open_queue_store": "queues.backends",
    "Claim": "queues.backends.base",
    "NewMessage": "queues.backends.base",
    "QueueCounts": "queues.backends.base",
    "QueueStore": "queues.backends.base",
    "Readiness": "queues.backends.base",
    "Settlement": "queues.backends.base",
    "StoredMessage": "queues.backends.base",
    "BatchHandler": "queues.engine",
    "BatchResult": "queues.engine",
    "Consumer": "queues.engine",
    "ConsumerGroup": "queues.engine",
    "ConsumerSettings": "queues.engine",
    "QueueError": "queues.errors",
    "check_queue_name": "queues.names",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'queues' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
