"""``WorkerHost``: the current worker + env, swapped in one step, and its background work.

The app reads ``host.current`` once per request, so a request that started on
one generation finishes on it even if ``swap`` installs a new one meanwhile
(hot reload in dev). ``fail(error)`` installs a load error instead: every
request then gets the 500 error page until the next good ``swap``.

The host also owns what outlives a request: the ``wait_until`` tasks (logged
on failure, drained at shutdown within ``drain_ms``) and the fetcher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime._cpu import CpuInterrupt, guarded
from runtime._fetch import Fetcher
from runtime.context import Context, reset_current_context, set_current_context
from runtime.env import Env
from runtime.errors import LimitExceeded, WorkerError
from runtime.limits import (
    DEFAULT_CPU_MS,
    DEFAULT_DRAIN_MS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_QUEUE_WALL_MS,
    DEFAULT_SUBREQUESTS,
    DEFAULT_WALL_MS,
    MSG_CPU_EXCEEDED,
    MSG_NO_QUEUE,
    MSG_NO_SCHEDULED,
    MSG_QUEUE_WALL_EXCEEDED,
    MSG_WALL_EXCEEDED,
    WALL_CHECK_MAX_MS,
    WALL_CHECK_MIN_MS,
)

if TYPE_CHECKING:
    from starlette.types import Scope

    from queues import MessageBatch
    from runtime.loader import LoadedWorker

__all__ = ["Generation", "RuntimeLimits", "ScheduledEvent", "WorkerHost"]

logger = logging.getLogger("edgeworks.runtime")


@dataclass(frozen=True, slots=True)
class RuntimeLimits:
    """The ``[limits]`` the runtime enforces (milliseconds and bytes)."""

    cpu_ms: int = DEFAULT_CPU_MS
    wall_ms: int = DEFAULT_WALL_MS
    subrequests: int = DEFAULT_SUBREQUESTS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    drain_ms: int = DEFAULT_DRAIN_MS
    #: KV operations per request (Workers: 1000); ``None`` = not counted (the default)
    kv_operations: int | None = None
    queue_wall_ms: int = DEFAULT_QUEUE_WALL_MS

    @classmethod
    def from_config(cls, limits: Any) -> RuntimeLimits:
        """From ``config.limits`` (any object with these attribute names)."""
        names = (
            "cpu_ms",
            "wall_ms",
            "subrequests",
            "max_body_bytes",
            "drain_ms",
            "kv_operations",
            "queue_wall_ms",
        )
        return cls(**{n: getattr(limits, n) for n in names if hasattr(limits, n)})


@dataclass(frozen=True, slots=True)
class Generation:
    """What serves requests right now: a worker and its env, or a load error."""

    worker: LoadedWorker | None
    env: Env
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    """The ``event`` of ``scheduled(event, env, ctx)``.

    ``scheduled_time`` is when the run was due, in epoch seconds (Workers uses
    milliseconds; ``scheduled_time_ms`` gives that form).
    """

    cron: str
    scheduled_time: float
    type: str = field(default="scheduled")

    @property
    def scheduled_time_ms(self) -> int:
        return int(self.scheduled_time * 1000)


class WorkerHost:
    """Holds the serving generation and the background work of one process.

    >>> host = WorkerHost(load_worker("worker.py"), env, limits=RuntimeLimits(cpu_ms=50))
    >>> app = create_app(host)
    >>> host.swap(load_worker("worker.py"), env)   # in-flight requests finish on the old one
    """

    def __init__(
        self,
        worker: LoadedWorker | None = None,
        env: Env | None = None,
        *,
        limits: RuntimeLimits | None = None,
        origin: str | None = None,
        fetcher: Fetcher | None = None,
    ) -> None:
        self.limits = limits or RuntimeLimits()
        self.origin = origin
        self.fetcher = fetcher or Fetcher()
        self.current = Generation(None, env or Env())
        self._tasks: set[asyncio.Future[Any]] = set()
        # Wall limit: one periodic check for all requests instead of a timer per request.
        self._deadlines: dict[asyncio.Task[Any], float] = {}
        self._expired: dict[asyncio.Task[Any], int] = {}  # task -> cancel count before
        self._wall_s = self.limits.wall_ms / 1000
        self._wall_timer: asyncio.TimerHandle | None = None
        self._wall_interval = (
            min(max(self.limits.wall_ms / 20, WALL_CHECK_MIN_MS), WALL_CHECK_MAX_MS) / 1000
        )
        if worker is not None:
            self.swap(worker, env)

    # --- the generation -------------------------------------------------------------

    def swap(self, worker: LoadedWorker, env: Env | None = None) -> None:
        """Serve ``worker`` (with ``env``, default: keep the current env) from now on."""
        new_env = env if env is not None else self.current.env
        worker.bind_globals(new_env.as_dict())
        self.current = Generation(worker, new_env)

    def set_env(self, env: Env) -> None:
        """Keep the worker, replace the bindings (config or secrets changed)."""
        worker = self.current.worker
        if worker is None:
            self.current = Generation(None, env, self.current.error)
        else:
            self.swap(worker, env)

    def fail(self, error: BaseException) -> None:
        """Answer every request with the error page for ``error`` until the next ``swap``."""
        self.current = Generation(self.current.worker, self.current.env, error)

    def resolve(self, scope: Scope) -> Generation:
        """The generation serving this request (a hook: dev locations pick per request)."""
        return self.current

    # --- the wall limit -------------------------------------------------------------

    def wall_start(self) -> asyncio.Task[Any]:
        """Start the wall clock of the request the current task serves."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        assert task is not None, "wall_start() runs inside a task"
        self._deadlines[task] = loop.time() + self._wall_s
        if self._wall_timer is None:
            self._wall_timer = loop.call_later(self._wall_interval, self._check_walls, loop)
        return task

    def wall_end(self, task: asyncio.Task[Any]) -> bool:
        """Stop the clock; ``True`` when the wall limit cancelled the request.

        The cancellation the limit requested is withdrawn (``uncancel``), so the
        task can still send the 504.
        """
        del self._deadlines[task]
        if not self._expired:
            return False
        cancelling = self._expired.pop(task, None)
        if cancelling is None:
            return False
        while task.cancelling() > cancelling:
            task.uncancel()
        return True

    def _check_walls(self, loop: asyncio.AbstractEventLoop) -> None:
        self._wall_timer = None
        if not self._deadlines:
            return
        now = loop.time()
        for task, deadline in list(self._deadlines.items()):
            if deadline <= now and task not in self._expired:
                self._expired[task] = task.cancelling()  # the count before our cancel
                task.cancel()
        self._wall_timer = loop.call_later(self._wall_interval, self._check_walls, loop)

    # --- contexts and background work -----------------------------------------------

    def context(self) -> Context:
        return Context(self.fetcher, subrequest_limit=self.limits.subrequests)

    def run_later(self, awaitable: Awaitable[Any]) -> None:
        """Run ``awaitable`` in the background (a ``wait_until`` item), tracked until done."""
        if isinstance(awaitable, asyncio.Future):
            task: asyncio.Future[Any] = awaitable
        else:
            task = asyncio.ensure_future(self._background(awaitable))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def _background(self, awaitable: Awaitable[Any]) -> Any:
        if asyncio.iscoroutine(awaitable):
            return await guarded(awaitable, self.limits.cpu_ms)
        return await awaitable

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            logger.error("wait_until task failed", exc_info=exc)

    @property
    def pending(self) -> int:
        """How many ``wait_until`` tasks are still running."""
        return len(self._tasks)

    async def drain(self, timeout_ms: float | None = None) -> int:
        """Await pending background work for at most ``timeout_ms`` (default ``drain_ms``),
        then cancel what is left and log it. Returns the number of cancelled tasks."""
        bound = (self.limits.drain_ms if timeout_ms is None else timeout_ms) / 1000
        if not self._tasks:
            return 0
        _, pending = await asyncio.wait(set(self._tasks), timeout=bound)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning(
                "cancelled %d wait_until task(s) still running after %.0f ms",
                len(pending),
                bound * 1000,
            )
            await asyncio.wait(pending, timeout=1)
        return len(pending)

    async def aclose(self) -> None:
        """Drain background work and close the fetcher."""
        await self.drain()
        await self.fetcher.aclose()

    def _serving(
        self, handler: str, missing: str, **details: str
    ) -> tuple[Generation, LoadedWorker]:
        """The current generation and its worker, which must define ``handler``: the load
        error of a broken generation, or ``missing`` (formatted with the file), raised."""
        generation = self.current
        if generation.error is not None:
            raise generation.error
        worker = generation.worker
        if worker is None or getattr(worker, handler) is None:
            path = worker.path if worker is not None else "worker"
            raise WorkerError(missing.format(file=path, **details))
        return generation, worker

    # --- cron -------------------------------------------------------------------------

    async def run_scheduled(self, event: ScheduledEvent) -> None:
        """Run ``scheduled(event, env, ctx)`` under the cpu and wall limits.

        Errors propagate to the caller (the cron loop logs them; tests see them).
        ``wait_until`` items run after it returns, as after a response.
        """
        generation, worker = self._serving("scheduled", MSG_NO_SCHEDULED)
        assert worker.scheduled is not None  # checked by _serving
        ctx = self.context()
        token = set_current_context(ctx)
        try:
            call = worker.scheduled(*(event, generation.env, ctx)[: worker.scheduled_arity])
            try:
                async with asyncio.timeout(self.limits.wall_ms / 1000):
                    await guarded(call, self.limits.cpu_ms)
            except TimeoutError:
                raise TimeoutError(MSG_WALL_EXCEEDED) from None
        finally:
            ctx.flush(self.run_later)
            reset_current_context(token)

    # --- queues -----------------------------------------------------------------------

    async def run_queue(self, batch: MessageBatch) -> None:
        """Run ``queue(batch, env, ctx)`` on the current generation (so the next batch
        after a reload runs the new code) under ``cpu_ms`` and ``queue_wall_ms``.

        ``wait_until`` work is part of the batch: it is awaited before this returns
        and a failure there raises (the batch is retried). Any failure, a limit
        included, is raised as an ``Exception`` for the consumer engine.
        """
        generation, worker = self._serving("queue", MSG_NO_QUEUE, queues=repr(batch.queue))
        assert worker.queue is not None  # checked by _serving
        ctx = self.context()
        token = set_current_context(ctx)
        limit = self.limits.queue_wall_ms
        waiting: list[Awaitable[Any]] = []
        try:
            async with asyncio.timeout(limit / 1000):
                call = worker.queue(*(batch, generation.env, ctx)[: worker.queue_arity])
                try:
                    await guarded(call, self.limits.cpu_ms)
                except BaseException:
                    ctx.flush(self.run_later)  # the batch failed anyway: run them aside
                    raise
                ctx.flush(waiting.append)
                results = await asyncio.gather(
                    *(self._background(item) for item in waiting), return_exceptions=True
                )
                for result in results:
                    if isinstance(result, BaseException):
                        raise result
        except TimeoutError:
            raise LimitExceeded(MSG_QUEUE_WALL_EXCEEDED.format(limit=limit), 504) from None
        except CpuInterrupt:
            raise LimitExceeded(MSG_CPU_EXCEEDED, 503) from None
        finally:
            reset_current_context(token)
