"""``workers.wsgi``: run a WSGI app such as Django or Flask inside a worker.

>>> class Default(WorkerEntrypoint):
...     async def fetch(self, request):
...         return await wsgi.fetch(application, request, self.env)

The app runs in a thread (it is synchronous) and sees ``environ["workers.env"]``.
"""

from __future__ import annotations

import asyncio
import io
import sys
from typing import Any
from urllib.parse import unquote, urlsplit

from workers._request import Request
from workers._response import Response

__all__ = ["fetch"]


async def fetch(app: Any, request: Request, env: Any, ctx: Any = None) -> Response:
    """Run the WSGI ``app`` for ``request`` (PEP 3333) with ``environ["workers.env"]``."""
    url = urlsplit(request.url)
    body = await request.bytes()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": str(request.method),
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(url.path).encode("utf-8").decode("latin-1"),
        "QUERY_STRING": url.query,
        "SERVER_NAME": url.hostname or "localhost",
        "SERVER_PORT": str(url.port or (443 if url.scheme == "https" else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "workers.env": env,
        "workers.ctx": ctx,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    return await asyncio.to_thread(_run, app, environ)


def _run(app: Any, environ: dict[str, Any]) -> Response:
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: chunks.append(data)

    chunks: list[bytes] = []
    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status_line, headers = started
    code, _, reason = status_line.partition(" ")
    return Response(b"".join(chunks), int(code), reason, headers=list(headers))
