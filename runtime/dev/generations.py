"""Old generations in `edgeworks dev`: requests finish on the code they started on, bounded.

After a reload, a request that started on the old code finishes on it (the
host hands each request one generation). Most finish within milliseconds; a
long-lived response (a stream, a long poll) would otherwise keep the old code
alive forever. :class:`GenerationReaper` is ASGI middleware that remembers
which generation each request started on and, ``grace`` seconds after that
generation was replaced, cancels what is still running: a response already
started is ended cleanly (the client sees the end of the stream and
reconnects to the new code), one not started yet gets a 503 saying why.

Dev endpoints under ``/__edgeworks/`` are never touched (live reload has its
own stream).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.limits import DEV_OLD_GENERATION_GRACE_S, DEV_PATH_PREFIX

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("edgeworks.dev")

MSG_RELOADED = b"The worker was reloaded while this request ran; retry it.\n"


@dataclass(eq=False)
class _InFlight:
    generation: object
    task: asyncio.Future[None]
    started: bool = False
    expired: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


class GenerationReaper:
    """Ends requests of replaced generations ``grace`` seconds after the swap.

    >>> app = GenerationReaper(app, current=lambda: host.current)
    >>> host.swap(worker, env); app.swapped()
    """

    def __init__(
        self,
        app: ASGIApp,
        current: Callable[[], object],
        *,
        grace: float = DEV_OLD_GENERATION_GRACE_S,
    ) -> None:
        self.app = app
        self.current = current
        self.grace = grace
        self._inflight: set[_InFlight] = set()

    @property
    def in_flight(self) -> int:
        """Requests running right now (dev endpoints excluded)."""
        return len(self._inflight)

    def swapped(self) -> None:
        """Call after each swap: requests of older generations get ``grace`` seconds."""
        now = self.current()
        old = {entry for entry in self._inflight if entry.generation is not now}
        if old:
            asyncio.get_running_loop().call_later(self.grace, self._expire, old)

    def _expire(self, entries: set[_InFlight]) -> None:
        for entry in entries & self._inflight:
            if not entry.task.done():
                entry.expired = True
                entry.task.cancel()
        if entries & self._inflight:
            logger.info(
                "ended %d request(s) still running on replaced code after %.0f s",
                len(entries & self._inflight),
                self.grace,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(DEV_PATH_PREFIX):
            await self.app(scope, receive, send)
            return
        entry: _InFlight

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, tracked_send))
        entry = _InFlight(self.current(), task)
        self._inflight.add(entry)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not entry.expired:  # the server or the client gave up: pass it on
                task.cancel()
                raise
            await self._end(entry, send)
        finally:
            self._inflight.discard(entry)

    async def _end(self, entry: _InFlight, send: Send) -> None:
        # The inner task was cancelled by _expire: finish the response it left open.
        try:
            if entry.started:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(MSG_RELOADED)).encode()),
                            (b"retry-after", b"0"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": MSG_RELOADED})
        except Exception:  # the client is gone already
            pass
