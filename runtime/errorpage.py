"""Error responses: one renderer for handler exceptions and load errors, in both modes.

- ``serve``: a generic body (``Internal Server Error`` or the limit message);
  the traceback goes to the log, never to the client.
- ``dev``: the exception, its message (``file:line: ...`` for a
  ``WorkerLoadError``) and the traceback — an HTML page when the client
  accepts ``text/html`` (browsers), plain text otherwise (curl).

The dev server uses the same functions for its load-error page.
"""

from __future__ import annotations

import html
import traceback
from typing import Literal

from starlette.responses import HTMLResponse, PlainTextResponse, Response

from runtime.limits import MSG_INTERNAL_ERROR

__all__ = ["Mode", "error_response", "format_exception", "wants_html"]

Mode = Literal["serve", "dev"]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
h1 {{ font-size: 1.3rem; color: #b00020; }}
.where {{ font-family: ui-monospace, monospace; background: #fff3f3; padding: .5rem .75rem; }}
pre {{ background: #f6f6f6; padding: 1rem; overflow-x: auto; font-size: .85rem; }}
</style></head>
<body><h1>{title}</h1><p class="where">{message}</p><pre>{trace}</pre>
<p>edgeworks dev &middot; fix the code and save: the page serves again without a restart.</p>
</body></html>
"""


def wants_html(headers: list[tuple[bytes, bytes]]) -> bool:
    """True when the ASGI request headers accept ``text/html`` (a browser)."""
    for name, value in headers:
        if name == b"accept":
            return b"text/html" in value
    return False


def format_exception(exc: BaseException) -> str:
    """The full traceback text of ``exc``."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def error_response(
    exc: BaseException,
    *,
    mode: Mode,
    html_ok: bool,
    status: int = 500,
    public_message: str | None = None,
) -> Response:
    """The response for ``exc``.

    ``public_message`` is what ``serve`` may show (default: the generic 500
    text); ``dev`` shows the exception and traceback.
    """
    if mode != "dev":
        return PlainTextResponse((public_message or MSG_INTERNAL_ERROR) + "\n", status_code=status)
    title = f"{status} {type(exc).__name__}"
    message = str(exc) or type(exc).__name__
    trace = format_exception(exc)
    if html_ok:
        page = _PAGE.format(
            title=html.escape(title), message=html.escape(message), trace=html.escape(trace)
        )
        return HTMLResponse(page, status_code=status)
    return PlainTextResponse(f"{title}: {message}\n\n{trace}", status_code=status)
