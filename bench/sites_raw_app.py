"""Ceiling for bench/sites_bench.py: a raw ASGI app answering every file of the generated
folder (SITES_BENCH_ROOT) from a dict in memory, with Content-Type and Content-Length."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import Any

ROOT = Path(os.environ["SITES_BENCH_ROOT"])
FILES: dict[str, tuple[list[tuple[bytes, bytes]], bytes]] = {}
for path in ROOT.rglob("*"):
    if path.is_file():
        body = path.read_bytes()
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
        FILES["/" + path.relative_to(ROOT).as_posix()] = (headers, body)
NOT_FOUND = ([(b"content-length", b"0")], b"")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers, body = FILES.get(scope["path"], NOT_FOUND)
    await send({"type": "http.response.start", "status": 200 if body else 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
