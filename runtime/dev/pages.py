"""Live reload and fresh assets, only in `edgeworks dev`.

:class:`LiveReload` is the broadcaster behind the SSE endpoint
``/__edgeworks/live-reload``; :func:`inject_live_reload` wraps an ASGI app so
that HTML responses (the error page included) end with a tiny script
listening to it, and open pages reload after every reload of the server;
:func:`always_revalidate` makes the browser revalidate every response, so the
reloaded page shows changed stylesheets and scripts too.

Error pages themselves come from ``runtime.errorpage`` (one renderer for
handler exceptions and load errors).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from runtime.limits import DEV_PATH_PREFIX, DEV_SSE_PING_S

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LIVE_RELOAD_PATH = "/__edgeworks/live-reload"
DEV_CACHE_CONTROL = b"no-cache"  # every dev response: revalidate (ETags make it a 304)
DEV_CACHE_CONTROL_HEADER = b"x-edgeworks-cache-control"  # what serve would have sent
#: Appended to HTML responses: reload the page when the dev server says so.
LIVE_RELOAD_SCRIPT = (
    "<script>/* edgeworks dev live reload */(()=>{"
    f'const s=new EventSource("{LIVE_RELOAD_PATH}");'
    's.addEventListener("reload",()=>location.reload());})();</script>'
).encode()


class LiveReload:
    """Tells open pages to reload: each SSE client gets every event sent after it connected."""

    def __init__(self, *, ping_interval: float = DEV_SSE_PING_S) -> None:
        self.ping_interval = ping_interval
        self._clients: set[asyncio.Queue[str | None]] = set()
        self._closed = False

    @property
    def clients(self) -> int:
        """How many pages are listening."""
        return len(self._clients)

    def notify(self, reason: str) -> None:
        """Send a ``reload`` event naming ``reason`` to every listening page."""
        data = json.dumps({"reason": reason})
        for queue in self._clients:
            queue.put_nowait(f"event: reload\ndata: {data}\n\n")

    def close(self) -> None:
        """End every open stream (at shutdown, so Ctrl-C never waits on a browser tab)."""
        self._closed = True
        for queue in self._clients:
            queue.put_nowait(None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The SSE endpoint, as a raw ASGI app."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        if self._closed:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._clients.add(queue)
        disconnected = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            await send({"type": "http.response.body", "body": b"retry: 500\n\n", "more_body": True})
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {getter, disconnected},
                    timeout=self.ping_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if disconnected in done:
                    getter.cancel()
                    return
                if getter not in done:
                    getter.cancel()
                    await send(
                        {"type": "http.response.body", "body": b": ping\n\n", "more_body": True}
                    )
                    continue
                event = getter.result()
                if event is None:
                    break
                await send(
                    {"type": "http.response.body", "body": event.encode(), "more_body": True}
                )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self._clients.discard(queue)
            disconnected.cancel()


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def inject_live_reload(app: ASGIApp, script: bytes = LIVE_RELOAD_SCRIPT) -> ASGIApp:
    """Wrap ``app`` so HTML responses end with ``script``.

    The script is appended after the last body chunk (browsers run a script
    after ``</html>`` as part of the body), so streaming responses are never
    buffered; ``Content-Length`` is adjusted. Compressed, partial (206) and
    body-less (204, 304, HEAD) responses are left alone, and so are edgeworks' own
    pages under ``/__edgeworks/`` (a reload would lose an edit in the data browser).
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in ("GET", "POST")
            or scope["path"].startswith(DEV_PATH_PREFIX)
        ):
            await app(scope, receive, send)
            return
        injecting = False

        async def send_wrapper(message: Message) -> None:
            nonlocal injecting
            if message["type"] == "http.response.start":
                injecting = _should_inject(message)
                if injecting:
                    message = dict(message)
                    message["headers"] = _grow_content_length(message["headers"], len(script))
            elif (
                injecting
                and message["type"] == "http.response.body"
                and not message.get("more_body", False)
            ):
                message = dict(message)
                message["body"] = bytes(message.get("body", b"")) + script
                injecting = False
            await send(message)

        await app(scope, receive, send_wrapper)

    return wrapped


def always_revalidate(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` so every response says ``Cache-Control: no-cache`` (dev only).

    A browser's reload (``location.reload()``, F5) revalidates the page but takes
    fresh subresources from its cache: a stylesheet that ``_headers`` gives
    ``max-age=3600`` kept its old rules for an hour after an edit. ``no-cache``
    makes the browser ask every time; the ETag stays, so an unchanged asset is a
    cheap 304. What ``serve`` would send is kept in ``x-edgeworks-cache-control``.
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
                kept = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                kept += [
                    (DEV_CACHE_CONTROL_HEADER, v)
                    for k, v in headers
                    if k.lower() == b"cache-control"
                ]
                message = dict(message)
                message["headers"] = [*kept, (b"cache-control", DEV_CACHE_CONTROL)]
            await send(message)

        await app(scope, receive, send_wrapper)

    return wrapped


def _should_inject(start: Message) -> bool:
    if start.get("status") in (204, 206, 304):
        return False
    content_type = b""
    for name, value in start.get("headers", []):
        lowered = bytes(name).lower()
        if lowered == b"content-encoding":
            return False
        if lowered == b"content-type":
            content_type = bytes(value).lower()
    return content_type.startswith(b"text/html")


def _grow_content_length(headers: Any, extra: int) -> list[tuple[bytes, bytes]]:
    out = []
    for name, value in headers:
        if bytes(name).lower() == b"content-length":
            value = str(int(value) + extra).encode()
        out.append((bytes(name), bytes(value)))
    return out
