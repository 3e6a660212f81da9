"""``ctx``: per-request ``wait_until``, ``pass_through_on_exception`` and ``fetch``.

The context owns the request's view of outbound HTTP: it receives the host's
:class:`~runtime._fetch.Fetcher` and counts subrequests; ``runtime.fetch``
goes through the ``ctx`` of the request this task serves (a process-wide
default fetcher outside requests).

``wait_until(awaitable)`` collects work that runs *after* the response is sent:
the app hands it to the host (``Context.flush``), which runs each item as a
task, logs failures, and awaits what is still pending at shutdown (bounded by
``drain_ms``). An already running task or future is tracked as is.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from runtime._fetch import Fetcher
from runtime.errors import LimitExceeded
from runtime.limits import DEFAULT_SUBREQUESTS, MSG_SUBREQUESTS

if TYPE_CHECKING:
    import httpx

__all__ = [
    "Context",
    "Fetcher",
    "current_context",
    "fetch",
    "reset_current_context",
    "set_current_context",
]

# Status of the exception raised by the extra fetch: uncaught, it is a plain 500.
SUBREQUEST_LIMIT_STATUS = 500


class Context:
    """The ``ctx`` a handler receives (third parameter).

    >>> async def handle_request(request, env, ctx):
    ...     ctx.wait_until(env.LOG.put("last", request.url.path))
    ...     return Response("ok")
    """

    __slots__ = ("_fetcher", "_passthrough", "_pending", "_subrequest_limit", "subrequests")

    def __init__(self, fetcher: Fetcher, subrequest_limit: int = DEFAULT_SUBREQUESTS) -> None:
        self._fetcher = fetcher
        self._subrequest_limit = subrequest_limit
        self._pending: list[Awaitable[Any]] | None = None
        self._passthrough = False
        #: fetch calls made so far by this request
        self.subrequests = 0

    def wait_until(self, awaitable: Awaitable[Any]) -> None:
        """Run ``awaitable`` after the response is sent; a failure is logged, not raised."""
        if not inspect.isawaitable(awaitable):
            raise TypeError(
                f"wait_until() takes an awaitable (a coroutine, task or future), "
                f"not {type(awaitable).__name__}"
            )
        if self._pending is None:
            self._pending = []
        self._pending.append(awaitable)

    def pass_through_on_exception(self) -> None:
        """If the handler raises from now on, forward the request to the configured origin."""
        self._passthrough = True

    @property
    def passes_through(self) -> bool:
        return self._passthrough

    @property
    def pending(self) -> bool:
        """Whether ``wait_until`` work is waiting to be started."""
        return self._pending is not None

    async def fetch(self, url_or_request: Any, **kwargs: Any) -> httpx.Response:
        """``runtime.fetch`` counted against this request's subrequest limit."""
        self.subrequests += 1
        if self.subrequests > self._subrequest_limit:
            raise LimitExceeded(
                MSG_SUBREQUESTS.format(count=self.subrequests, limit=self._subrequest_limit),
                SUBREQUEST_LIMIT_STATUS,
            )
        return await self._fetcher.fetch(url_or_request, **kwargs)

    def flush(self, start: Callable[[Awaitable[Any]], None]) -> None:
        """Hand every ``wait_until`` item to ``start`` (the host schedules and tracks it)."""
        pending, self._pending = self._pending, None
        for awaitable in pending or ():
            start(awaitable)

    def discard(self) -> None:
        """Drop pending items without running them (closes coroutines, no warnings)."""
        pending, self._pending = self._pending, None
        for awaitable in pending or ():
            if asyncio.iscoroutine(awaitable):
                awaitable.close()


_current: contextvars.ContextVar[Context | None] = contextvars.ContextVar(
    "edgeworks_ctx", default=None
)
_default = Fetcher()  # outbound requests made outside any request or cron run


def current_context() -> Context | None:
    """The ``ctx`` of the request (or cron run) this task is serving, if any."""
    return _current.get()


def set_current_context(ctx: Context) -> contextvars.Token[Context | None]:
    """Make ``ctx`` the one ``runtime.fetch`` uses in this task (and tasks it starts)."""
    return _current.set(ctx)


def reset_current_context(token: contextvars.Token[Context | None]) -> None:
    """Undo the matching :func:`set_current_context`."""
    _current.reset(token)


async def fetch(url_or_request: Any, **kwargs: Any) -> httpx.Response:
    """Make an outbound HTTP request (counts against the request's subrequest limit).

    >>> r = await fetch("https://api.example.com/items", method="POST", json={"a": 1})
    >>> r.status_code, r.json()
    """
    ctx = _current.get()
    if ctx is not None:
        return await ctx.fetch(url_or_request, **kwargs)
    return await _default.fetch(url_or_request, **kwargs)
