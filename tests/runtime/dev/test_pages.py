"""The live-reload broadcaster and script injection (runtime/dev/pages.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse

from runtime.dev.pages import LIVE_RELOAD_SCRIPT, LiveReload, inject_live_reload


async def _get(app: Any, path: str = "/", method: str = "GET") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dev") as client:
        return await client.request(method, path)


async def test_inject_appends_script_to_html_and_fixes_length() -> None:
    app = inject_live_reload(HTMLResponse("<html><body>hi</body></html>"))
    response = await _get(app)
    assert response.content.endswith(LIVE_RELOAD_SCRIPT)
    assert response.content.startswith(b"<html><body>hi</body></html>")
    assert int(response.headers["content-length"]) == len(response.content)


async def test_inject_handles_streaming_html() -> None:
    async def chunks() -> Any:
        yield b"<p>one</p>"
        yield b"<p>two</p>"

    app = inject_live_reload(StreamingResponse(chunks(), media_type="text/html"))
    response = await _get(app)
    assert response.content == b"<p>one</p><p>two</p>" + LIVE_RELOAD_SCRIPT


async def test_inject_leaves_other_responses_alone() -> None:
    for inner in (
        PlainTextResponse("plain"),
        Response(b"x", media_type="text/html", headers={"content-encoding": "gzip"}),
        Response(status_code=304, headers={"content-type": "text/html"}),
    ):
        response = await _get(inject_live_reload(inner))
        assert LIVE_RELOAD_SCRIPT not in response.content
    head = await _get(inject_live_reload(HTMLResponse("<p>x</p>")), method="HEAD")
    assert head.content == b""


async def test_live_reload_stream_sends_events_and_closes() -> None:
    live = LiveReload(ping_interval=0.05)
    sent: list[dict[str, Any]] = []
    disconnect = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    task = asyncio.create_task(live({"type": "http"}, receive, send))
    while live.clients == 0:
        await asyncio.sleep(0.001)
    live.notify("bucket: public/index.html")
    await asyncio.sleep(0.12)  # long enough for a keep-alive ping
    live.close()
    await asyncio.wait_for(task, 2)
    assert sent[0]["status"] == 200
    assert dict(sent[0]["headers"])[b"content-type"] == b"text/event-stream"
    bodies = b"".join(m.get("body", b"") for m in sent[1:])
    assert b'event: reload\ndata: {"reason": "bucket: public/index.html"}\n\n' in bodies
    assert b": ping\n\n" in bodies
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert live.clients == 0
    # After close, a new client gets an empty stream at once.
    sent.clear()
    await asyncio.wait_for(live({"type": "http"}, receive, send), 1)
    assert sent[-1]["more_body"] is False


async def test_live_reload_stream_ends_on_disconnect() -> None:
    live = LiveReload()
    messages = asyncio.Queue[dict[str, Any]]()

    async def receive() -> dict[str, Any]:
        return await messages.get()

    async def send(message: Any) -> None:
        pass

    task = asyncio.create_task(live({"type": "http"}, receive, send))
    while live.clients == 0:
        await asyncio.sleep(0.001)
    messages.put_nowait({"type": "http.disconnect"})
    await asyncio.wait_for(task, 1)
    assert live.clients == 0
