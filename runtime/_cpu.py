"""The CPU watchdog: interrupt a handler that runs too long without yielding.

``cpu_ms`` is the longest *stretch without yielding* (one step of the handler's
coroutine), not Workers' summed CPU time. ``guarded(coro, cpu_ms)`` wraps a
coroutine so every step (each ``send``/``throw`` into it) is timed: the step's
start time sits in ``_WATCHDOG.started_at`` while it runs, ``0.0`` otherwise.

A daemon thread looks at that timestamp every few milliseconds. When a step is
older than its limit, the thread sends ``SIGUSR2`` to the main thread. The
Python-level handler runs *in the main thread* between two bytecodes and
re-checks the timestamp itself, so there is no race with a step that has just
ended: it raises :class:`CpuInterrupt` only while a guarded step is running,
which puts the exception inside the handler's code (or this module's step
loop), never inside uvicorn or asyncio. The signal also interrupts blocking
calls such as ``time.sleep``.

``CpuInterrupt`` derives from ``BaseException`` so that a handler's
``except Exception:`` does not swallow it. If a handler catches it anyway and
keeps spinning, the thread fires again every check interval.

What is not covered: a loop inside C code (the handler only runs when the C
call returns), and event loops that are not in the main thread (signals are
only handled there; the guard then only times steps and never interrupts).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Coroutine, Generator
from types import FrameType
from typing import Any, Generic, TypeVar

from runtime.limits import CANCEL_GRACE_MS, CPU_CHECK_INTERVAL_MS, CPU_INTERRUPT_SIGNAL

T = TypeVar("T")

logger = logging.getLogger("edgeworks.runtime")


class CpuInterrupt(BaseException):
    """Raised inside a handler step that ran past ``cpu_ms`` (the app answers 503)."""


class _Watchdog:
    def __init__(self) -> None:
        self.started_at = 0.0  # monotonic start of the running guarded step; 0.0 = none
        self.limit = 0.0  # seconds the running step may take
        self.interval = CPU_CHECK_INTERVAL_MS / 1000
        self.interrupts = 0  # how many times a step was interrupted (for tests and logs)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._enforcing = False

    @property
    def enforcing(self) -> bool:
        """True when runaway steps are interrupted (the loop runs in the main thread)."""
        return self._enforcing and self._thread is not None

    def after_fork(self) -> None:
        # Threads do not survive fork(): the child starts its own on first use.
        self._thread = None
        self.started_at = 0.0

    def ensure_started(self, limit: float) -> None:
        """Start the thread and install the signal handler (once per process)."""
        if limit < self.interval * 4:
            self.interval = max(limit / 4, 0.001)
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is not None:
                return
            self._enforcing = False
            if threading.current_thread() is threading.main_thread():
                signal.signal(getattr(signal, CPU_INTERRUPT_SIGNAL), self._on_signal)
                self._enforcing = True
            else:
                logger.warning("the event loop is not in the main thread: cpu_ms is not enforced")
            self._thread = threading.Thread(
                target=self._watch,
                args=(threading.main_thread().ident,),
                name="edgeworks-cpu-watchdog",
                daemon=True,
            )
            self._thread.start()

    def _watch(self, main_ident: int | None) -> None:
        sig = getattr(signal, CPU_INTERRUPT_SIGNAL)
        monotonic = time.monotonic
        while True:
            time.sleep(self.interval)
            started = self.started_at
            overdue = started and monotonic() - started >= self.limit
            if overdue and self._enforcing and main_ident is not None:
                signal.pthread_kill(main_ident, sig)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        started = self.started_at
        if started and time.monotonic() - started >= self.limit:
            self.interrupts += 1
            raise CpuInterrupt()


def _force_close(coro: Coroutine[Any, Any, Any]) -> None:
    """Close a coroutine that ignored its cancellation (logged: it is a bug in the worker)."""
    logger.error("a handler kept running after it was cancelled; it was closed")
    try:
        coro.close()
    except RuntimeError as exc:  # it ignored GeneratorExit too
        logger.error("closing it failed: %s", exc)


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.after_fork)


def watchdog_interrupts() -> int:
    """How many handler steps this process has interrupted so far."""
    return _WATCHDOG.interrupts


class guarded(Generic[T]):
    """Run ``coro`` with every step limited to ``cpu_ms`` milliseconds.

    >>> response = await guarded(handler(request, env, ctx), 1000)
    """

    __slots__ = ("_coro", "_limit")

    def __init__(self, coro: Coroutine[Any, Any, T], cpu_ms: float) -> None:
        self._coro = coro
        limit = self._limit = cpu_ms / 1000
        if _WATCHDOG._thread is None or limit < _WATCHDOG.interval * 4:
            _WATCHDOG.ensure_started(limit)

    def __await__(self) -> Generator[Any, Any, T]:
        coro = self._coro
        limit = self._limit
        watchdog = _WATCHDOG
        monotonic = time.monotonic
        value: Any = None
        error: BaseException | None = None
        swallowed_at = 0.0  # when the coroutine kept running after a cancellation
        escalation: asyncio.TimerHandle | None = None
        try:
            while True:
                outer_started, outer_limit = watchdog.started_at, watchdog.limit
                watchdog.limit = limit
                watchdog.started_at = monotonic()
                try:
                    yielded = coro.send(value) if error is None else coro.throw(error)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                finally:
                    # Restore the outer step (0.0 when none) before anything else runs.
                    watchdog.started_at = outer_started
                    watchdog.limit = outer_limit
                if isinstance(error, asyncio.CancelledError) and not swallowed_at:
                    # It caught the cancellation and awaits again: it gets CANCEL_GRACE_MS
                    # to finish (cleanup may await), then it is closed.
                    swallowed_at = monotonic()
                    task = asyncio.current_task()
                    if task is not None:
                        loop = asyncio.get_running_loop()
                        escalation = loop.call_later(CANCEL_GRACE_MS / 1000, task.cancel)
                try:
                    value = yield yielded
                    error = None
                except GeneratorExit:
                    coro.close()
                    raise
                except BaseException as exc:
                    value, error = None, exc
                    late = monotonic() - swallowed_at >= CANCEL_GRACE_MS / 1000 * 0.99
                    if swallowed_at and late and isinstance(exc, asyncio.CancelledError):
                        _force_close(coro)
                        raise
        finally:
            if escalation is not None:
                escalation.cancel()

    def close(self) -> None:
        """Close the wrapped coroutine without running it (it was never awaited)."""
        self._coro.close()


class guarded_iter(Generic[T]):
    """An async iterator whose every ``__anext__`` runs under :class:`guarded`.

    For the body iterator of a ``StreamingResponse``: it is the handler's code
    too, and starlette may run it in a task of its own.
    """

    __slots__ = ("_cpu_ms", "_iterator")

    def __init__(self, iterable: AsyncIterable[T], cpu_ms: float) -> None:
        self._iterator: AsyncIterator[T] = iterable.__aiter__()
        self._cpu_ms = cpu_ms

    def __aiter__(self) -> guarded_iter[T]:
        return self

    async def __anext__(self) -> T:
        step: Coroutine[Any, Any, T] = self._iterator.__anext__()  # type: ignore[assignment]
        return await guarded(step, self._cpu_ms)
