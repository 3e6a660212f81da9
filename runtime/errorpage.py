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
import itertools
import traceback
import types
from pathlib import Path
from typing import Literal

from starlette.responses import HTMLResponse, PlainTextResponse, Response

from runtime.limits import MSG_INTERNAL_ERROR

__all__ = [
    "Mode",
    "error_response",
    "format_exception",
    "is_one_line",
    "set_debug",
    "user_traceback",
    "wants_html",
]

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


_ROOT = Path(__file__).resolve().parent.parent
# edgeworks' own code: dropped from the tracebacks users see unless --debug. The
# workers that ship with edgeworks (workers/static_site.py, ...) are user-like code.
_INTERNAL = tuple(str(_ROOT / name) for name in ("runtime", "kv", "sites")) + tuple(
    str(_ROOT / "workers" / name) for name in ("_", "__init__.py", "asgi.py", "wsgi.py")
)
_debug = [False]


def set_debug(on: bool) -> None:
    """``--debug``: show edgeworks' own frames in tracebacks too."""
    _debug[0] = on


def is_one_line(exc: BaseException) -> bool:
    """Errors that say everything in their message ("not supported"): no traceback."""
    return bool(getattr(exc, "one_line", False))


def user_traceback(exc: BaseException) -> BaseException:
    """``exc`` with edgeworks' own frames dropped from its traceback (and its causes'),
    unless ``--debug``; the last frame is kept when every frame is edgeworks'."""
    if _debug[0]:
        return exc
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = _trim(current.__traceback__)
        current = current.__cause__ or current.__context__
    return exc


def _trim(tb: types.TracebackType | None) -> types.TracebackType | None:
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    kept = [t for t in frames if not t.tb_frame.f_code.co_filename.startswith(_INTERNAL)]
    if not kept:
        kept = frames[-1:]
    for first, second in itertools.pairwise(kept):
        first.tb_next = second
    if kept:
        kept[-1].tb_next = None
        return kept[0]
    return None


def format_exception(exc: BaseException) -> str:
    """The traceback text of ``exc`` (the user's frames; none for a one-line error)."""
    if is_one_line(exc):
        return ""
    exc = user_traceback(exc)
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
    return PlainTextResponse(f"{title}: {message}\n\n{trace}".rstrip() + "\n", status_code=status)
