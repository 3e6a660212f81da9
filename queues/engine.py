"""The consumer engine: batches from a store, a handler, and what follows.

``Consumer`` delivers one queue's messages to a handler, ``handler(batch)``, an
async callable taking a ``MessageBatch`` (the runtime wraps the worker's
``queue(batch, env, ctx)`` in one, with its limits; the engine knows nothing
of workers). Per batch:

- a batch is claimed when ``max_batch_size`` messages are ready, or
  ``max_batch_timeout`` seconds after the oldest ready message became ready;
  never empty;
- the handler returns: every message not explicitly retried is acked; it
  raises: every message is retried except explicit acks (``MessageBatch``);
- a retried message comes back after message > batch > ``retry_delay``
  seconds; after ``max_retries + 1`` deliveries it moves to
  ``dead_letter_queue`` or is deleted, with one log line each;
- a batch whose process died comes back after ``visibility_timeout``
  (attempts + 1), through the store's lease.

``ConsumerGroup`` runs several consumers as tasks (``edgeworks dev`` and every
``serve`` process), wakes them on local sends, sweeps retention, and stops
gracefully.

>>> consumer = Consumer(store, ConsumerSettings("jobs"), handler)
>>> await consumer.deliver_ready()          # everything ready now, in batches
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from kv.errors import StoreUnavailable
from queues._batch import MessageBatch
from queues.backends.base import Claim, QueueStore, Settlement, StoredMessage
from queues.limits import (
    LOG_DEAD_LETTERED,
    LOG_DROPPED,
    LOG_HANDLER_FAILED,
    LOG_RETENTION,
    LOGGER_NAME,
    MAX_BATCH_SIZE,
    MAX_BATCH_TIMEOUT,
    MAX_CONCURRENCY,
    MAX_RETRIES,
    POLL_INTERVAL,
    RETENTION,
    RETRY_DELAY,
    STORE_RETRY_INTERVAL,
    SWEEP_BATCH,
    SWEEP_INTERVAL,
    VISIBILITY_TIMEOUT,
)
from queues.stats import QUEUE_STATS

logger = logging.getLogger(LOGGER_NAME)

BatchHandler = Callable[[MessageBatch], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    """One consumer's delivery rules (``[[queues.consumers]]``; defaults as Cloudflare's)."""

    queue: str
    max_batch_size: int = MAX_BATCH_SIZE[0]
    max_batch_timeout: float = MAX_BATCH_TIMEOUT[0]
    max_retries: int = MAX_RETRIES[0]
    dead_letter_queue: str | None = None
    retry_delay: int = RETRY_DELAY[0]
    max_concurrency: int = MAX_CONCURRENCY[0]
    visibility_timeout: float = VISIBILITY_TIMEOUT[0]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What happened to one claimed batch (ids per outcome; ``error``: the
    handler's exception, if it raised)."""

    queue: str
    delivered: tuple[str, ...]
    acked: tuple[str, ...]
    retried: tuple[str, ...]
    dead_lettered: tuple[str, ...]
    dropped: tuple[str, ...]
    error: BaseException | None = None


class Consumer:
    """Delivers the messages of ``settings.queue`` to ``handler``.

    ``handler`` may be replaced at any time (a reload): the next batch uses the
    new one, a batch in flight finishes on the old one. ``clock`` returns epoch
    seconds, the same clock the producers use. While ``paused()`` returns true
    (dev: the code fails to load) ``run`` claims nothing, so no message spends
    its retries on code that cannot run.
    """

    def __init__(
        self,
        store: QueueStore,
        settings: ConsumerSettings,
        handler: BatchHandler,
        *,
        clock: Callable[[], float] = time.time,
        paused: Callable[[], bool] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.handler = handler
        self.paused = paused
        self._clock = clock
        self._wake = asyncio.Event()
        #: Whether the last ``claim()`` found a batch due but got none from the store.
        self.refused = False

    @property
    def queue(self) -> str:
        return self.settings.queue

    def notify(self) -> None:
        """A message was sent here: look at the store now instead of at the next poll."""
        self._wake.set()

    # --- one batch ---------------------------------------------------------------

    async def claim(self, *, force: bool = False) -> Claim | None:
        """Lease the next batch if one is due (``force``: whatever is ready now)."""
        s = self.settings
        now = self._clock()
        self.refused = False
        if not force:
            ready = await self.store.readiness(s.queue, now, s.max_batch_size)
            if ready.ready == 0 or ready.oldest is None:
                return None
            if ready.ready < s.max_batch_size and ready.oldest + s.max_batch_timeout > now:
                return None
        claim = await self.store.claim(
            s.queue, s.max_batch_size, now, s.visibility_timeout, s.max_concurrency
        )
        # A due batch the store did not hand out: every slot is taken (maybe by another
        # process) or another consumer took the messages first.
        self.refused = claim is None
        return claim

    async def deliver_batch(self, *, force: bool = False) -> BatchResult | None:
        """Claim, run and settle one batch if one is due; ``None`` when none is."""
        claim = await self.claim(force=force)
        return None if claim is None else await self.process(claim)

    async def deliver_ready(self) -> list[BatchResult]:
        """Deliver every message ready now, in batches of ``max_batch_size``, one
        batch after another, whatever the batch timeout (``WorkerClient``)."""
        s = self.settings
        pending = (await self.store.readiness(s.queue, self._clock(), 1 << 30)).ready
        results: list[BatchResult] = []
        while pending > 0:
            result = await self.deliver_batch(force=True)
            if result is None:
                break
            results.append(result)
            pending -= len(result.delivered) + len(result.dead_lettered) + len(result.dropped)
        return results

    async def process(self, claim: Claim) -> BatchResult:
        """Run the handler over a claimed batch and settle it in the store."""
        s = self.settings
        exhausted = [m for m in claim.messages if m.attempts > s.max_retries + 1]
        live = [m for m in claim.messages if m.attempts <= s.max_retries + 1]
        error: BaseException | None = None
        acks: list[StoredMessage] = []
        retries: list[tuple[StoredMessage, float]] = []
        dead = list(exhausted)
        if live:
            batch = MessageBatch(s.queue, live)
            handler = self.handler
            try:
                await handler(batch)
            except Exception as exc:
                error = exc
                logger.warning(
                    LOG_HANDLER_FAILED.format(queue=s.queue, count=len(live), error=exc),
                    exc_info=exc,
                )
            decisions = batch.decide(error is None)
            now = self._clock()
            for message in live:
                decision = decisions[message.id]
                if not decision.retry:
                    acks.append(message)
                elif message.attempts >= s.max_retries + 1:
                    dead.append(message)
                else:
                    delay = decision.delay if decision.delay is not None else s.retry_delay
                    retries.append((message, now + delay))
        for message in dead:
            if s.dead_letter_queue is not None:
                logger.warning(
                    LOG_DEAD_LETTERED.format(
                        id=message.id,
                        queue=s.queue,
                        dlq=s.dead_letter_queue,
                        attempts=min(message.attempts, s.max_retries + 1),
                    )
                )
            else:
                logger.warning(
                    LOG_DROPPED.format(
                        id=message.id,
                        queue=s.queue,
                        attempts=min(message.attempts, s.max_retries + 1),
                    )
                )
        settlement = Settlement(tuple(acks), tuple(retries), tuple(dead), s.dead_letter_queue)
        await self.store.settle(s.queue, claim, settlement, self._clock())
        dead_ids = tuple(m.id for m in dead)
        result = BatchResult(
            queue=s.queue,
            delivered=tuple(m.id for m in live),
            acked=tuple(m.id for m in acks),
            retried=tuple(m.id for m, _ in retries),
            dead_lettered=dead_ids if s.dead_letter_queue is not None else (),
            dropped=dead_ids if s.dead_letter_queue is None else (),
            error=error,
        )
        QUEUE_STATS.count(result)
        return result

    # --- the loop ----------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Deliver batches until ``stopping`` is set, up to ``max_concurrency`` at once
        in this process (the store bounds them across processes); then wait for the
        batches in flight. Store outages are logged and retried, never raised."""
        s = self.settings
        in_flight: set[asyncio.Task[BatchResult]] = set()
        unavailable = False
        try:
            while not stopping.is_set():
                wait = POLL_INTERVAL
                if len(in_flight) < s.max_concurrency and not (self.paused and self.paused()):
                    try:
                        claim = await self.claim()
                        if unavailable:
                            logger.warning('Queue "%s": the store is available again', s.queue)
                            unavailable = False
                        if claim is not None:
                            task = asyncio.create_task(self._guarded(claim))
                            in_flight.add(task)
                            task.add_done_callback(in_flight.discard)
                            continue
                        # Refused: a slot frees when a batch here ends (that wakes us)
                        # or in another process (seen at the next poll).
                        wait = POLL_INTERVAL if self.refused else await self._idle_wait()
                    except StoreUnavailable as exc:
                        if not unavailable:
                            logger.error('Queue "%s": %s; retrying', s.queue, exc)
                            unavailable = True
                        wait = STORE_RETRY_INTERVAL
                await self._sleep(wait, stopping, in_flight)
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _guarded(self, claim: Claim) -> BatchResult:
        try:
            return await self.process(claim)
        except StoreUnavailable as exc:
            # Not settled: the lease runs out and the batch is delivered again.
            logger.error('Queue "%s": could not settle a batch: %s', self.queue, exc)
            raise
        finally:
            self._wake.set()  # a slot is free again

    async def _idle_wait(self) -> float:
        """How long to wait before looking again: until the batch timeout of the
        ready messages or the next delayed one, at most the poll interval."""
        s = self.settings
        now = self._clock()
        ready = await self.store.readiness(s.queue, now, s.max_batch_size)
        moments = [POLL_INTERVAL]
        if ready.oldest is not None:
            moments.append(ready.oldest + s.max_batch_timeout - now)
        if ready.next_at is not None:
            moments.append(ready.next_at - now)
        return max(0.0, min(moments))

    async def _sleep(
        self, seconds: float, stopping: asyncio.Event, in_flight: set[asyncio.Task[BatchResult]]
    ) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


class ConsumerGroup:
    """The consumers of one process, run as tasks, plus the retention sweeper.

    >>> group = ConsumerGroup(store, [consumer], retention=345600)
    >>> group.start()
    >>> group.notify("jobs")             # after a local send (``Queue(after_send=...)``)
    >>> await group.stop(timeout=30)     # SIGTERM: finish batches in flight, take no more
    """

    def __init__(
        self,
        store: QueueStore,
        consumers: Iterable[Consumer],
        *,
        retention: float = RETENTION[0],
        sweep: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.consumers = {c.queue: c for c in consumers}
        self.retention = retention
        self.sweeps = sweep
        self._clock = clock
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def notify(self, queue: str) -> None:
        consumer = self.consumers.get(queue)
        if consumer is not None:
            consumer.notify()

    def start(self) -> None:
        """Start one task per consumer and (unless ``sweep=False``) the retention
        sweeper, on the running loop."""
        self._stopping = asyncio.Event()
        self._tasks = [
            asyncio.create_task(c.run(self._stopping), name=f"queue consumer {c.queue}")
            for c in self.consumers.values()
        ]
        if self.sweeps:
            sweeper = asyncio.create_task(self._sweep_loop(), name="queue retention sweep")
            self._tasks.append(sweeper)

    async def stop(self, timeout: float | None = None) -> None:
        """Take no new batches; wait up to ``timeout`` s for batches in flight, then
        cancel them (their leases run out and they are delivered again)."""
        self._stopping.set()
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def sweep(self) -> int:
        """Drop messages older than ``retention`` (every queue); returns how many."""
        older_than = self._clock() - self.retention
        removed = 0
        while True:
            step = await self.store.sweep(older_than, SWEEP_BATCH)
            removed += step
            if step < SWEEP_BATCH:
                break
        if removed:
            logger.info(LOG_RETENTION.format(count=removed, seconds=int(self.retention)))
        return removed

    async def _sweep_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sweep()
            except StoreUnavailable as exc:
                logger.error("Queues: retention sweep failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), SWEEP_INTERVAL)
