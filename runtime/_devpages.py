"""Pages only the dev server shows: the error page and live reload.

- :func:`render_error` renders an exception (a handler's, or a
  :class:`~runtime.errors.WorkerLoadError` / :class:`~runtime.errors.ConfigError`
  after a bad save) as an HTML page for browsers or plain text for curl. It
  names the exception, the file and the line, shows the source around that
  line and the whole traceback. This is the one dev error-page renderer; the
  app uses it for handler exceptions in dev mode too.
- :class:`LiveReload` is the broadcaster behind the SSE endpoint
  ``/__edgeworks/live-reload``; :func:`inject_live_reload` wraps an ASGI app so
  that HTML responses end with a tiny script listening to it.
"""

from __future__ import annotations

import asyncio
import html
import json
import linecache
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from runtime._devlimits import DEV_SSE_PING_S

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
SOURCE_CONTEXT_LINES = 5  # lines shown before and after the failing line


def wants_html(accept: str | None) -> bool:
    """True for browsers (``Accept`` names text/html), false for curl and API clients."""
    return accept is not None and "text/html" in accept


def error_location(
    exc: BaseException, project_root: Path | None = None
) -> tuple[str | None, int | None]:
    """The file and line an error points at.

    Load errors carry their own; a syntax error has its own; otherwise the
    deepest traceback frame under ``project_root`` (or the deepest frame at all).
    """
    filename = getattr(exc, "filename", None)
    lineno = getattr(exc, "lineno", None)
    if isinstance(filename, str) and filename:
        return filename, lineno if isinstance(lineno, int) else None
    found: tuple[str | None, int | None] = (None, None)
    for frame, line in traceback.walk_tb(exc.__traceback__):
        name = frame.f_code.co_filename
        if project_root is None or Path(name).is_relative_to(project_root):
            found = (name, line)
    return found


def _headline(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _source_lines(filename: str, lineno: int) -> list[tuple[int, str]]:
    linecache.checkcache(filename)
    first = max(1, lineno - SOURCE_CONTEXT_LINES)
    lines = []
    for number in range(first, lineno + SOURCE_CONTEXT_LINES + 1):
        text = linecache.getline(filename, number)
        if not text and number > lineno:
            break
        lines.append((number, text.rstrip("\n")))
    return lines


def render_error_text(exc: BaseException, *, project_root: Path | None = None) -> str:
    """The plain-text error page: headline, file and line, source excerpt, traceback."""
    filename, lineno = error_location(exc, project_root)
    out = ["500 Internal Server Error (edgeworks dev)", "", _headline(exc)]
    if filename:
        out.append(f"  at {filename}" + (f", line {lineno}" if lineno else ""))
        if lineno:
            out.append("")
            for number, text in _source_lines(filename, lineno):
                marker = ">" if number == lineno else " "
                out.append(f"{marker} {number:4d} | {text}")
    out += ["", "".join(traceback.format_exception(exc)).rstrip(), ""]
    return "\n".join(out)


def render_error_html(exc: BaseException, *, project_root: Path | None = None) -> str:
    """The HTML error page for browsers."""
    esc = html.escape
    filename, lineno = error_location(exc, project_root)
    where = ""
    source = ""
    if filename:
        where = f"<p class=where>{esc(filename)}" + (f", line {lineno}" if lineno else "") + "</p>"
        if lineno:
            rows = "".join(
                f'<tr class="{"hit" if number == lineno else ""}"><td>{number}</td>'
                f"<td><pre>{esc(text)}</pre></td></tr>"
                for number, text in _source_lines(filename, lineno)
            )
            source = f"<table class=src>{rows}</table>"
    trace = esc("".join(traceback.format_exception(exc)))
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{esc(type(exc).__name__)} · edgeworks dev</title><style>"
        "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
        "h1{font-size:1.3em;color:#b00020;white-space:pre-wrap}"
        ".where{font-family:monospace}.src{border-collapse:collapse;font-family:monospace}"
        ".src td{padding:0 .6em}.src pre{margin:0}.src td:first-child{color:#888;text-align:right}"
        ".hit{background:#fdd}details pre{background:#f6f6f6;padding:1em;overflow:auto}"
        "</style></head><body>"
        f"<h1>{esc(_headline(exc))}</h1>{where}{source}"
        f"<details open><summary>Traceback</summary><pre>{trace}</pre></details>"
        "<p><small>edgeworks dev: fix the file and save; this page reloads.</small></p>"
        "</body></html>"
    )


def render_error(
    exc: BaseException, *, accept: str | None, project_root: Path | None = None
) -> tuple[bytes, str]:
    """The error page body and its content type for a request's ``Accept`` header."""
    if wants_html(accept):
        return render_error_html(
            exc, project_root=project_root
        ).encode(), "text/html; charset=utf-8"
    return render_error_text(exc, project_root=project_root).encode(), "text/plain; charset=utf-8"


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
