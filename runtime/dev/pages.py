"""Live reload, only in `edgeworks dev`.

:class:`LiveReload` is the broadcaster behind the SSE endpoint
``/__edgeworks/live-reload``; :func:`inject_live_reload` wraps an ASGI app so
that HTML responses (the error page included) end with a tiny script
listening to it, and open pages reload after every reload of the server.

Error pages themselves come from ``runtime.errorpage`` (one renderer for
handler exceptions and load errors).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from runtime.limits import DEV_SSE_PING_S

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LIVE_RELOAD_PATH = "/__edgeworks/live-reload"
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
    body-less (204, 304, HEAD) responses are left alone.
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "POST"):
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
