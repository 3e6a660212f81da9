"""A stand-in origin for trying edge auth locally: it greets the user the edge vouched for.

uvicorn origin:app --port 9000
"""

from starlette.requests import Request
from starlette.responses import PlainTextResponse


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    request = Request(scope, receive)
    user = request.headers.get("x-edgeworks-user", "(nobody)")
    scopes = request.headers.get("x-edgeworks-scopes", "")
    response = PlainTextResponse(f"hello {user}; scopes: {scopes or '(none)'}\n")
    await response(scope, receive, send)
