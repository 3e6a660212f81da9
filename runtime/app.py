"""The ASGI app: one raw callable, no router or middleware stack.

Per HTTP request: answer ``/__edgeworks/*`` (health in both modes, the dev
server's routes in dev, the admin API and page when mounted, 404 otherwise); reject a body over ``max_body_bytes``
with 413 before the handler runs (Content-Length, or counted while receiving a
chunked body); build a starlette ``Request``; call ``handle_request`` with 1-3
of ``(request, env, ctx)`` under the cpu (503) and wall (504) limits; send the
returned starlette ``Response`` or ``httpx.Response`` (streamed through); map
exceptions to responses; then start the ``wait_until`` work and buffer one
access-log line (``runtime.access_log``: ``127.0.0.1 GET /path 200 12 1.8ms``).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kv import KVError, operation_budget
from queues import QueueError
from runtime._body import BodyTooLarge, has_body, read_body, replay, send_httpx
from runtime._cpu import CpuInterrupt, guarded, guarded_iter
from runtime._response_check import InvalidResponse, response_problem
from runtime.access_log import AccessLog
from runtime.context import Context, reset_current_context, set_current_context
from runtime.errorpage import Mode, error_response, is_one_line, user_traceback, wants_html
from runtime.errors import LimitExceeded
from runtime.forward import forward
from runtime.host import WorkerHost
from runtime.limits import (
    DEV_PATH_PREFIX,
    HEALTH_PATH,
    METRICS_PATH,
    MSG_BAD_RETURN,
    MSG_BODY_TOO_LARGE,
    MSG_CPU_EXCEEDED,
    MSG_NO_ORIGIN,
    MSG_NOT_FOUND,
    MSG_STORE_UNAVAILABLE,
    MSG_WALL_EXCEEDED,
)

if TYPE_CHECKING:
    from runtime.admin import AdminApp
    from runtime.metrics import Metrics

__all__ = ["EdgeworksApp", "create_app"]

logger = logging.getLogger("edgeworks.runtime")

Hook = Callable[[], Awaitable[None]]


def create_app(
    host: WorkerHost,
    *,
    mode: Mode = "serve",
    extra_routes: Mapping[str, ASGIApp] | None = None,
    admin: AdminApp | None = None,
    access_log: bool = True,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    metrics: Metrics | None = None,
) -> EdgeworksApp:
    """The ASGI app serving ``host``'s current worker.

    ``metrics``: count requests and serve them at ``/__edgeworks/metrics``.

    ``extra_routes`` maps exact paths under ``/__edgeworks/`` to ASGI apps and is
    only used in ``dev`` mode. ``on_startup``/``on_shutdown`` run in the ASGI
    lifespan; after the shutdown hooks the host drains ``wait_until`` work
    (``drain_ms``) and closes the fetcher.
    """
    return EdgeworksApp(
        host,
        mode=mode,
        extra_routes=extra_routes,
        admin=admin,
        access_log=access_log,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        metrics=metrics,
    )


class EdgeworksApp:
    """See :func:`create_app`."""

    def __init__(
        self,
        host: WorkerHost,
        *,
        mode: Mode = "serve",
        extra_routes: Mapping[str, ASGIApp] | None = None,
        admin: AdminApp | None = None,
        access_log: bool = True,
        on_startup: Sequence[Hook] = (),
        on_shutdown: Sequence[Hook] = (),
        metrics: Metrics | None = None,
    ) -> None:
        self.host = host
        self.metrics = metrics
        self._stats = metrics.requests if metrics is not None else None
        self.mode: Mode = mode
        self.extra_routes = dict(extra_routes or {}) if mode == "dev" else {}
        #: The admin API and page (runtime.admin), in either mode when given.
        self.admin = admin
        self.access_log = access_log
        self.access = AccessLog()
        self.on_startup = list(on_startup)
        self.on_shutdown = list(on_shutdown)
        #: set while this process drains for a reload: every response closes its connection
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if self.draining:
                send = _closing(send)
            stats = self._stats
            log = self.access_log and self.access.enabled()
            if stats is None and not log:
                await self._http(scope, receive, send)
                return
            start = time.perf_counter()
            size = 0
            if log:
                inner = send

                async def counting_send(message: Message) -> None:
                    nonlocal size
                    if message["type"] == "http.response.body":
                        size += len(message.get("body", b""))
                    await inner(message)

                send = counting_send
            status = await self._http(scope, receive, send)
            elapsed = time.perf_counter() - start
            if stats is not None and not scope["path"].startswith(DEV_PATH_PREFIX):
                stats.request(status, elapsed)
            if log:
                client = scope.get("client")
                self.access.record(
                    (
                        client[0] if client else None,
                        scope["method"],
                        scope.get("raw_path") or scope["path"],
                        status,
                        size,
                        elapsed * 1000,
                    )
                )
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # websocket: not part of the worker contract
            await send({"type": "websocket.close", "code": 1000})

    # --- lifespan -----------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for hook in self.on_startup:
                        await hook()
                except BaseException as exc:
                    logger.error("startup failed: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    for hook in self.on_shutdown:
                        await hook()
                    await self.host.aclose()
                except BaseException as exc:  # pragma: no cover - logged, still shut down
                    logger.error("shutdown failed: %s", exc)
                # uvicorn has finished every request by now: nothing is logged after this.
                self.access.flush()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- http -----------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> int:
        path: str = scope["path"]
        if path.startswith(DEV_PATH_PREFIX):
            return await self._internal(path, scope, receive, send)
        host = self.host
        generation = host.resolve(scope)
        if generation.error is not None or generation.worker is None:
            error = generation.error or RuntimeError("no worker is loaded")
            logger.error("worker not loaded: %s", error)
            response = error_response(error, mode=self.mode, html_ok=wants_html(scope["headers"]))
            await response(scope, receive, send)
            return response.status_code

        limits = host.limits
        body: bytes | None = None
        if has_body(scope["headers"]):
            try:
                body = await read_body(scope, receive, limits.max_body_bytes)
            except BodyTooLarge as too_large:
                message = MSG_BODY_TOO_LARGE.format(
                    size=too_large.size, limit=limits.max_body_bytes
                )
                response = PlainTextResponse(message + "\n", status_code=413)
                response.headers["connection"] = "close"
                await response(scope, receive, send)
                return 413
            if body is not None:
                receive = replay(body, receive)

        worker = generation.worker
        request = Request(scope, receive)
        ctx = Context(host.fetcher, limits.subrequests)
        token = set_current_context(ctx)
        args = (request, generation.env, ctx)[: worker.arity]
        budget = operation_budget(limits.kv_operations) if limits.kv_operations else None
        if budget is not None:
            budget.__enter__()
        task = host.wall_start()
        try:
            try:
                result: Any = await guarded(worker.handle_request(*args), limits.cpu_ms)
            except BaseException as exc:
                expired = host.wall_end(task)
                result = await self._on_error(exc, scope, request, ctx, body, expired)
            else:
                host.wall_end(task)
            return await self._send(result, scope, receive, send)
        finally:
            # wait_until tasks start here and copy this context: their fetches count
            # against this request's subrequests (as on Workers) and use its transport.
            if ctx.pending:
                ctx.flush(host.run_later)
            if self._stats is not None and ctx.subrequests:
                self._stats.subrequests += ctx.subrequests
            if budget is not None:
                budget.__exit__(None, None, None)
            reset_current_context(token)

    async def _on_error(
        self,
        exc: BaseException,
        scope: Scope,
        request: Request,
        ctx: Any,
        body: bytes | None,
        wall_expired: bool,
    ) -> Any:
        """What to answer when the handler raised (or ran over a limit)."""
        if isinstance(exc, CpuInterrupt):
            if self._stats is not None:
                self._stats.limits["cpu"] += 1
            logger.error("%s %s: %s", scope["method"], scope["path"], MSG_CPU_EXCEEDED)
            return PlainTextResponse(MSG_CPU_EXCEEDED + "\n", status_code=503)
        if wall_expired:
            if self._stats is not None:
                self._stats.limits["wall"] += 1
            logger.error("%s %s: %s", scope["method"], scope["path"], MSG_WALL_EXCEEDED)
            return PlainTextResponse(MSG_WALL_EXCEEDED + "\n", status_code=504)
        if isinstance(exc, asyncio.CancelledError):
            raise exc  # the client went away or the server is stopping
        if ctx.passes_through:
            origin = self.host.origin
            if origin is None:
                logger.error("pass_through_on_exception: %s", MSG_NO_ORIGIN)
            else:
                logger.warning(
                    "%s %s raised %s; forwarding to origin %s",
                    scope["method"],
                    scope["path"],
                    type(exc).__name__,
                    origin,
                )
                try:
                    return await forward(request, origin, fetch=self.host.fetcher.fetch, body=body)
                except Exception as forward_exc:
                    logger.error("forwarding to origin failed", exc_info=forward_exc)
                    exc = forward_exc
        return self._exception_response(exc, scope)

    def _exception_response(self, exc: BaseException, scope: Scope) -> Response:
        status, public = _status_of(exc)
        if is_one_line(exc):
            logger.error("%s %s: %s", scope["method"], scope["path"], exc)
        else:
            logger.error(
                "%s %s raised %s",
                scope["method"],
                scope["path"],
                type(exc).__name__,
                exc_info=user_traceback(exc),
            )
        return error_response(
            exc,
            mode=self.mode,
            html_ok=wants_html(scope["headers"]),
            status=status,
            public_message=public,
        )

    async def _send(self, result: Any, scope: Scope, receive: Receive, send: Send) -> int:
        plain = _PLAIN_RESPONSES.get(type(result))
        if plain is None:
            plain = _sends_plainly(type(result))
        if plain:  # the common case: nothing can fail midway
            problem = response_problem(result.status_code, result.raw_headers)
            if problem is not None:
                return await self._send_invalid(problem, scope, receive, send)
            await result(scope, receive, send)
            return int(result.status_code)
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        httpx = sys.modules.get("httpx")
        if isinstance(result, Response):
            problem = response_problem(result.status_code, result.raw_headers)
        elif httpx is not None and isinstance(result, httpx.Response):
            problem = response_problem(result.status_code, result.headers.raw)
            if problem is not None:
                await result.aclose()
        else:
            problem = None
        if problem is not None:
            return await self._send_invalid(problem, scope, receive, send)
        try:
            if isinstance(result, Response):
                if isinstance(result, StreamingResponse) and not isinstance(
                    result.body_iterator, guarded_iter
                ):
                    result.body_iterator = guarded_iter(
                        result.body_iterator, self.host.limits.cpu_ms
                    )
                await result(scope, receive, tracked_send)
                return result.status_code
            if httpx is not None and isinstance(result, httpx.Response):
                return await send_httpx(result, tracked_send)
            error = TypeError(MSG_BAD_RETURN.format(type=type(result).__name__))
            response = self._exception_response(error, scope)
            await response(scope, receive, send)
            return response.status_code
        except CpuInterrupt:
            # A streaming body ran past cpu_ms after the status line went out: abort the
            # response (the server closes the connection) so that no client takes a
            # truncated body for a complete one.
            logger.error(
                "%s %s: %s while streaming", scope["method"], scope["path"], MSG_CPU_EXCEEDED
            )
            raise LimitExceeded(MSG_CPU_EXCEEDED, 503) from None
        except Exception as exc:
            if started:
                logger.error(
                    "%s %s: response failed after it started",
                    scope["method"],
                    scope["path"],
                    exc_info=exc,
                )
                raise
            response = self._exception_response(exc, scope)
            await response(scope, receive, send)
            return response.status_code

    async def _send_invalid(self, problem: str, scope: Scope, receive: Receive, send: Send) -> int:
        """A 500 instead of a response the server cannot send (the connection stays usable)."""
        logger.error("%s %s: invalid response: %s", scope["method"], scope["path"], problem)
        response = error_response(
            InvalidResponse(problem), mode=self.mode, html_ok=wants_html(scope["headers"])
        )
        await response(scope, receive, send)
        return response.status_code

    async def _internal(self, path: str, scope: Scope, receive: Receive, send: Send) -> int:
        if path == HEALTH_PATH:
            response: Response = PlainTextResponse("ok\n")
        elif path == METRICS_PATH and self.metrics is not None:
            accept = next((v for k, v in scope["headers"] if k == b"accept"), b"")
            body, content_type = await self.metrics.render(accept.decode("latin-1"))
            response = Response(body, headers={"content-type": content_type})
        else:
            route = self.extra_routes.get(path)
            if route is None and self.admin is not None and self.admin.handles(path):
                route = self.admin
            if route is not None:
                status = 200

                async def status_send(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                    await send(message)

                await route(scope, receive, status_send)
                return status
            response = PlainTextResponse(MSG_NOT_FOUND + "\n", status_code=404)
        await response(scope, receive, send)
        return response.status_code


def _closing(send: Send) -> Send:
    """``send`` with ``Connection: close`` on the response: the client's next request
    goes to a new connection (and a process that is not draining)."""

    async def closing_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", ()) if h[0].lower() != b"connection"]
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return closing_send


# Response classes -> whether sending one runs no user code (a body already rendered
# to bytes), filled per class on first sight.
_PLAIN_RESPONSES: dict[type, bool] = dict.fromkeys(
    (Response, PlainTextResponse, HTMLResponse, JSONResponse), True
)
#: What ``Response.__call__`` reads: a subclass overriding none of them sends plainly.
_SEND_ATTRIBUTES = frozenset(
    {
        "__call__",
        "__getattr__",
        "__getattribute__",
        "background",
        "body",
        "raw_headers",
        "status_code",
    }
)


def _sends_plainly(cls: type) -> bool:
    """Whether ``cls`` is a ``Response`` subclass whose sending runs no code of its own
    (e.g. one that only overrides ``__init__``); cached per class."""
    plain = False
    if issubclass(cls, Response) and not issubclass(cls, StreamingResponse):
        own = cls.__mro__[: cls.__mro__.index(Response)]
        plain = not any(_SEND_ATTRIBUTES & vars(klass).keys() for klass in own)
    _PLAIN_RESPONSES[cls] = plain
    return plain


def _status_of(exc: BaseException) -> tuple[int, str | None]:
    """The status an uncaught exception maps to, and the text ``serve`` may show."""
    if isinstance(exc, KVError | QueueError):
        # docs/kv.md, docs/queues.md: an uncaught KVError or QueueError is a 500 (bad
        # input is a bug in the worker), except "Store unavailable" (503).
        if exc.status == 503:
            return 503, MSG_STORE_UNAVAILABLE
        return 500, None
    if isinstance(exc, LimitExceeded):
        return exc.status, str(exc)
    status = getattr(exc, "status", None)
    if isinstance(status, int) and 400 <= status <= 599:
        return status, None if status >= 500 else str(exc)
    return 500, None
