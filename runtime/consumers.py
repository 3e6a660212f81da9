"""Queue consumers of a process: the worker's ``queue(batch, env, ctx)`` behind the
consumer engine (``queues.ConsumerGroup``), one consumer per ``[[queues.consumers]]``.

``edgeworks dev``, every ``serve`` process and ``WorkerClient`` build their
consumers here. Each batch runs through ``WorkerHost.run_queue``, so it uses
the generation current when the batch starts (a reload takes effect for the
next batch) under ``cpu_ms`` and ``queue_wall_ms``.

>>> group = consumer_group(config, queue_store, host)
>>> env = env_from_config(config, store, queue_store=queue_store, after_send=group.notify)
>>> group.start()
>>> await group.stop(timeout=config.limits.drain_ms / 1000)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runtime.errors import WorkerLoadError
from runtime.limits import MSG_NO_QUEUE

if TYPE_CHECKING:
    from queues import Consumer, ConsumerGroup, QueueStore
    from runtime.config import Config
    from runtime.host import WorkerHost
    from runtime.loader import LoadedWorker

__all__ = [
    "banner_lines",
    "check_queue_handler",
    "consumer_group",
    "consumers",
    "queue_names",
    "queue_overview",
]


def check_queue_handler(config: Config, worker: LoadedWorker) -> None:
    """A ``WorkerLoadError`` when consumers are configured but the worker has no
    ``queue`` function: it names the queues and the missing function."""
    if config.queues.consumers and worker.queue is None:
        names = ", ".join(repr(c.queue) for c in config.queues.consumers)
        raise WorkerLoadError(
            MSG_NO_QUEUE.format(file=worker.path, queues=names), filename=str(worker.path)
        )


def consumers(
    config: Config,
    store: QueueStore,
    host: WorkerHost,
    *,
    clock: Callable[[], float] = time.time,
) -> list[Consumer]:
    """One ``Consumer`` per configured consumer, running batches through ``host``;
    paused while the host serves a load error (dev), so messages keep their retries."""
    from queues import Consumer

    def paused() -> bool:
        return host.current.error is not None or host.current.worker is None

    return [
        Consumer(store, entry.settings(), host.run_queue, clock=clock, paused=paused)
        for entry in config.queues.consumers
    ]


def consumer_group(
    config: Config,
    store: QueueStore,
    host: WorkerHost,
    *,
    clock: Callable[[], float] = time.time,
) -> ConsumerGroup:
    """The consumers and retention sweeper of one process (start it on the loop).
    A project without queues gets an empty group: it never touches the store."""
    from queues import ConsumerGroup

    return ConsumerGroup(
        store,
        consumers(config, store, host, clock=clock),
        retention=config.queues.retention,
        sweep=bool(config.queues.producers or config.queues.consumers),
        clock=clock,
    )


def queue_names(config: Config) -> list[str]:
    """Every queue ``config`` names: producers', consumers' and dead letter queues."""
    names: set[str] = {p.queue for p in config.queues.producers}
    for consumer in config.queues.consumers:
        names.add(consumer.queue)
        if consumer.dead_letter_queue is not None:
            names.add(consumer.dead_letter_queue)
    return sorted(names)


async def queue_overview(
    config: Config, store: QueueStore, *, now: float | None = None
) -> list[dict[str, Any]]:
    """Counts per queue (configured ones and any the store holds), for dev's
    ``GET /__edgeworks/queues`` and ``edgeworks queues list``: ``ready``,
    ``delayed``, ``in_flight``, ``dead_lettered`` (the backlog of its dead letter
    queue), ``backlog_bytes`` and ``oldest_timestamp`` (epoch seconds or ``None``)."""
    at = time.time() if now is None else now
    names = sorted({*queue_names(config), *await store.list_queues()})
    counts = {name: await store.counts(name, at) for name in names}
    dlqs = {c.queue: c.dead_letter_queue for c in config.queues.consumers}
    rows = []
    for name in names:
        c = counts[name]
        dlq = dlqs.get(name)
        rows.append(
            {
                "name": name,
                "ready": c.ready,
                "delayed": c.delayed,
                "in_flight": c.in_flight,
                "dead_lettered": counts[dlq].backlog if dlq is not None else 0,
                "backlog_bytes": c.backlog_bytes,
                "oldest_timestamp": c.oldest_timestamp,
            }
        )
    return rows


def banner_lines(config: Config) -> list[str]:
    """The banner's producer and consumer lines (``name  queue producer  queue``)."""
    lines = [f"{p.binding}  queue producer  {p.queue}" for p in config.queues.producers]
    for c in config.queues.consumers:
        dlq = f", dead letters to {c.dead_letter_queue}" if c.dead_letter_queue else ""
        lines.append(
            f"queue()  consumer  {c.queue}  (batches of {c.max_batch_size}, "
            f"{c.max_batch_timeout:g} s, {c.max_retries} retries{dlq})"
        )
    return lines
