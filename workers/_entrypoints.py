"""Entry-point classes and helpers of Cloudflare's Python SDK: ``WorkerEntrypoint``,
``handler``, ``fetch``, ``wait_until``, ``import_from_javascript``.

>>> class Default(WorkerEntrypoint):
...     async def fetch(self, request):
...         value = await self.env.KV.get("greeting")
...         return Response(value or "hello")

edgeworks makes a new ``Default(ctx, env)`` for every request, cron run and
queue batch, as workerd does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from workers._request import Request
from workers._response import FetchResponse

__all__ = [
    "DurableObject",
    "WorkerEntrypoint",
    "WorkflowEntrypoint",
    "fetch",
    "handler",
    "import_from_javascript",
    "wait_until",
]

HANDLER_MARK = "__workers_handler__"  # set by @handler; the runtime reads it
MSG_NOT_SUPPORTED = "{what} is not supported by edgeworks (see docs/python-workers.md)"

F = TypeVar("F", bound=Callable[..., Any])


class WorkerEntrypoint:
    """Base of ``class Default(WorkerEntrypoint)``: ``self.env`` and ``self.ctx``."""

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


class DurableObject(WorkerEntrypoint):
    """Importable so that modules defining Durable Objects load; a Durable Object
    binding is not supported (using one raises an error naming it)."""


class WorkflowEntrypoint(WorkerEntrypoint):
    """Importable so that modules defining Workflows load; Workflows are not supported."""


def handler(func: F) -> F:
    """Mark a module-level ``on_fetch``/``on_scheduled``/``on_queue`` (the 2024-2025
    style). edgeworks calls marked and unmarked handlers the same way."""
    setattr(func, HANDLER_MARK, True)
    return func


async def fetch(resource: Any, **options: Any) -> FetchResponse:
    """An outbound request: ``await fetch(url, method="POST", headers={...}, body=...)``.

    Counts against the request's subrequest limit like ``runtime.fetch``.
    ``fetcher=`` sends the request to that callable instead (service bindings,
    ``env.ASSETS.fetch``).
    """
    fetcher = options.pop("fetcher", None)
    request = resource if isinstance(resource, Request) else None
    if request is None or options:
        if not isinstance(resource, str | Request):
            raise TypeError(f"fetch() takes a URL or a Request, not {type(resource).__name__}")
        request = Request(resource, **options)
    if fetcher is not None:
        result = fetcher(request)
        if isinstance(result, Awaitable):
            result = await result
        return result  # type: ignore[no-any-return]
    from runtime import fetch as runtime_fetch

    content = (
        None
        if request.starlette_request is None and request.body is None
        else (await request.bytes())
    )
    response = await runtime_fetch(
        request.url,
        method=str(request.method),
        headers=list(request.headers.items()),
        content=content,
        follow_redirects=request.redirect == "follow",
    )
    return FetchResponse(response)


def wait_until(awaitable: Awaitable[Any]) -> None:
    """Run ``awaitable`` after the response is sent (``ctx.wait_until`` of the request)."""
    from runtime.context import current_context

    ctx = current_context()
    if ctx is None:
        raise RuntimeError("wait_until() is only available while handling a request")
    ctx.wait_until(awaitable)


waitUntil = wait_until  # the JS name


class _CloudflareWorkers:
    """What ``import_from_javascript("cloudflare:workers")`` returns."""

    @property
    def env(self) -> Any:
        from workers import env

        return env

    waitUntil = staticmethod(wait_until)


def import_from_javascript(name: str) -> Any:
    """``"cloudflare:workers"`` (``.env``, ``.waitUntil``); anything else is refused."""
    if name == "cloudflare:workers":
        return _CloudflareWorkers()
    if name == "cloudflare:sockets":
        raise ImportError(MSG_NOT_SUPPORTED.format(what="cloudflare:sockets"))
    raise ImportError(
        f"Failed to import '{name}': Only 'cloudflare:workers' and 'cloudflare:sockets' are "
        "available in the global scope."
    )
