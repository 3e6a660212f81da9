"""``workers.asgi`` (also importable as ``asgi`` in Cloudflare projects): run an ASGI app
such as FastAPI inside a worker.

>>> class Default(WorkerEntrypoint):
...     async def fetch(self, request):
...         return await asgi.fetch(app, request.js_object, self.env)

The app sees ``scope["env"]`` (``request.scope["env"].MESSAGE`` in FastAPI). Its
lifespan startup runs once per app, before its first request. The response
body is collected, then returned as a ``workers.Response``.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote, urlsplit

from workers._request import Request
from workers._response import Response

__all__ = ["fetch"]

_started: dict[int, tuple[Any, dict[str, Any]]] = {}  # id(app) -> (app, lifespan state)


async def fetch(app: Any, request: Request, env: Any, ctx: Any = None) -> Response:
    """Send ``request`` through the ASGI ``app`` with ``scope["env"] = env``."""
    state = await _lifespan(app)
    url = urlsplit(request.url)
    body = await request.bytes()
    headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.items()
    ]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": str(request.method),
        "scheme": url.scheme,
        "path": unquote(url.path),
        "raw_path": url.path.encode("latin-1"),
        "query_string": url.query.encode("latin-1"),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": (url.hostname or "localhost", url.port or (443 if url.scheme == "https" else 80)),
        "env": env,
        "ctx": ctx,
        "state": dict(state),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects mid-request here
        return {"type": "http.disconnect"}  # pragma: no cover

    status = 500
    out_headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])
            ]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    content = b"".join(chunks)
    null_body = status in (101, 204, 205, 304)
    return Response(None if null_body else content, status, headers=out_headers)


async def _lifespan(app: Any) -> dict[str, Any]:
    held = _started.get(id(app))
    if held is not None and held[0] is app:
        return held[1]
    state: dict[str, Any] = {}
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await messages.put({"type": "lifespan.startup"})
    done = asyncio.get_running_loop().create_future()

    async def receive() -> dict[str, Any]:
        return await messages.get()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup") and not done.done():
            done.set_result(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
    task = asyncio.ensure_future(app(scope, receive, send))
    finished = await asyncio.wait({task, done}, return_when=asyncio.FIRST_COMPLETED)
    if done in finished[0]:
        message = done.result()
        if message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"ASGI app startup failed: {message.get('message', '')}")
    # An app without lifespan support raises or returns at once: no state then.
    _started[id(app)] = (app, state)
    _tasks.add(task)
    return state


_tasks: set[asyncio.Future[Any]] = set()  # lifespan tasks stay alive with their apps
