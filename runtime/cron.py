"""Cron triggers: run ``scheduled(event, env, ctx)`` on ``[triggers] crons`` (UTC).

``CronSchedule`` is pure (which expressions are due next, after a time);
``CronRunner`` sleeps until then with an injected clock and sleep, and starts
each run as background work of the host, so a slow run never delays the next
one and pending runs are drained at shutdown. A failing run is logged and
later runs continue. croniter is imported on first use.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from runtime.host import ScheduledEvent, WorkerHost

__all__ = ["CronRunner", "CronSchedule"]

logger = logging.getLogger("edgeworks.runtime")

Sleep = Callable[[float], Awaitable[Any]]


class CronSchedule:
    """The next due time of a set of cron expressions.

    >>> schedule = CronSchedule(["*/5 * * * *"])
    >>> schedule.next_due(1_700_000_000.0)
    (1700000100.0, ['*/5 * * * *'])
    """

    def __init__(self, crons: Sequence[str]) -> None:
        self.crons = list(dict.fromkeys(crons))

    def next_due(self, after: float) -> tuple[float, list[str]]:
        """The earliest time strictly after ``after`` and every expression due then."""
        from croniter import croniter

        times = {cron: float(croniter(cron, after).get_next(float)) for cron in self.crons}
        when = min(times.values())
        return when, [cron for cron, at in times.items() if at == when]


class CronRunner:
    """Runs the host's ``scheduled`` handler on schedule until stopped.

    >>> runner = CronRunner(host, config.triggers.crons)
    >>> runner.start()
    >>> await runner.stop()
    """

    def __init__(
        self,
        host: WorkerHost,
        crons: Sequence[str],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.host = host
        self.schedule = CronSchedule(crons)
        self.clock = clock
        self.sleep = sleep
        self.runs = 0  # started runs
        self.failures = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the schedule loop in the running event loop (no-op without crons)."""
        if self.schedule.crons and self._task is None:
            self._task = asyncio.ensure_future(self.run_forever())

    async def stop(self) -> None:
        """Stop scheduling; runs already started finish as host background work."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def run_forever(self) -> None:
        while True:
            await self.tick()

    async def tick(self) -> list[ScheduledEvent]:
        """Sleep until the next due time, then start the runs due then."""
        now = self.clock()
        when, crons = self.schedule.next_due(now)
        await self.sleep(max(0.0, when - now))
        events = [ScheduledEvent(cron=cron, scheduled_time=when) for cron in crons]
        for event in events:
            self.runs += 1
            self.host.run_later(self._run(event))
        return events

    async def _run(self, event: ScheduledEvent) -> None:
        try:
            await self.host.run_scheduled(event)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.failures += 1
            logger.error("scheduled run for %r failed", event.cron, exc_info=exc)
        else:
            logger.info("scheduled run for %r done", event.cron)
