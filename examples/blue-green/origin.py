"""A stand-in origin for trying the router locally: it says which colour it is.

ORIGIN_COLOR=blue  uvicorn origin:app --port 9001
ORIGIN_COLOR=green uvicorn origin:app --port 9002
"""

import os

from starlette.requests import Request
from starlette.responses import PlainTextResponse

COLOR = os.environ.get("ORIGIN_COLOR", "blue")


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    request = Request(scope, receive)
    response = PlainTextResponse(f"{COLOR} origin: {request.method} {request.url.path}\n")
    await response(scope, receive, send)
