"""A test origin run by uvicorn in a subprocess: ``ORIGIN_COLOR=blue uvicorn _origin:app``.

- ``/__hits``: how many requests reached the origin (itself not counted).
- ``/__release``: lets a waiting ``/stream`` send its second chunk.
- ``/echo``: answers with the request body, byte for byte.
- ``/stream``: sends ``first``, waits for ``/__release``, then ``second`` and 256 KiB.
- ``/big``: a 1 MiB body.
- anything else: JSON describing the request (colour, method, path, query, headers).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

COLOR = os.environ.get("ORIGIN_COLOR", "blue")
BIG = bytes(range(256)) * 4096  # 1 MiB
TAIL = b"x" * 262144
_hits = 0
_release = asyncio.Event()


async def _stream() -> AsyncIterator[bytes]:
    yield b"first\n"
    await _release.wait()
    _release.clear()
    yield b"second\n"
    yield TAIL


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _hits
    if scope["type"] != "http":
        return
    request = Request(scope, receive)
    path = request.url.path
    response: Response
    if path == "/__hits":
        response = PlainTextResponse(str(_hits))
    elif path == "/__release":
        _release.set()
        response = PlainTextResponse("released")
    else:
        _hits += 1
        if path == "/echo":
            body = await request.body()
            response = Response(body, media_type=request.headers.get("content-type"))
        elif path == "/stream":
            response = StreamingResponse(_stream(), media_type="application/octet-stream")
        elif path == "/big":
            response = Response(BIG, media_type="application/octet-stream")
        else:
            info = {
                "color": COLOR,
                "method": request.method,
                "path": path,
                "query": request.url.query,
                "headers": [[k.decode(), v.decode()] for k, v in request.headers.raw],
            }
            response = JSONResponse(info, headers={"Set-Cookie": "origin=1; Path=/"})
    response.headers["X-Origin-Color"] = COLOR
    await response(scope, receive, send)
