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
from typing import TYPE_CHECKING

from runtime.errors import WorkerLoadError
from runtime.limits import MSG_NO_QUEUE

if TYPE_CHECKING:
    from queues import Consumer, ConsumerGroup, QueueStore
    from runtime.config import Config
    from runtime.host import WorkerHost
    from runtime.loader import LoadedWorker

__all__ = ["check_queue_handler", "consumer_group", "consumers"]


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
    """One ``Consumer`` per configured consumer, running batches through ``host``."""
    from queues import Consumer

    return [
        Consumer(store, entry.settings(), host.run_queue, clock=clock)
        for entry in config.queues.consumers
    ]


def consumer_group(
    config: Config,
    store: QueueStore,
    host: WorkerHost,
    *,
    clock: Callable[[], float] = time.time,
) -> ConsumerGroup:
    """The consumers and retention sweeper of one process (start it on the loop)."""
    from queues import ConsumerGroup

    return ConsumerGroup(
        store,
        consumers(config, store, host, clock=clock),
        retention=config.queues.retention,
        clock=clock,
    )
