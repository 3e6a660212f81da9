"""Requests on replaced code end a grace period after the swap (runtime/dev/generations.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runtime.dev.generations import MSG_RELOADED, GenerationReaper


class Gen:
    """Stands in for host.current: a new object per generation."""

    def __init__(self) -> None:
        self.current = object()

    def swap(self) -> None:
        self.current = object()


async def streaming_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    while True:
        await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
        await asyncio.sleep(0.01)


async def silent_app(scope: Any, receive: Any, send: Any) -> None:
    await asyncio.sleep(3600)


async def quick_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _receive() -> dict[str, Any]:
    await asyncio.sleep(3600)
    return {"type": "http.disconnect"}


def _scope(path: str = "/") -> dict[str, Any]:
    return {"type": "http", "path": path, "method": "GET"}


async def _start(reaper: GenerationReaper, path: str = "/") -> tuple[asyncio.Task[None], list[Any]]:
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    task = asyncio.create_task(reaper(_scope(path), _receive, send))
    await asyncio.sleep(0.03)
    return task, sent


async def test_stream_on_replaced_code_is_ended_cleanly_after_grace() -> None:
    gen = Gen()
    reaper = GenerationReaper(streaming_app, lambda: gen.current, grace=0.05)
    task, sent = await _start(reaper)
    assert reaper.in_flight == 1
    gen.swap()
    reaper.swapped()
    await asyncio.wait_for(task, 1)
    assert sent[0]["status"] == 200
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert reaper.in_flight == 0


async def test_request_not_started_on_replaced_code_gets_503() -> None:
    gen = Gen()
    reaper = GenerationReaper(silent_app, lambda: gen.current, grace=0.02)
    task, sent = await _start(reaper)
    gen.swap()
    reaper.swapped()
    await asyncio.wait_for(task, 1)
    assert sent[0]["status"] == 503
    assert sent[1]["body"] == MSG_RELOADED


async def test_requests_on_current_code_and_dev_endpoints_are_left_alone() -> None:
    gen = Gen()
    reaper = GenerationReaper(streaming_app, lambda: gen.current, grace=0.02)
    gen.swap()
    reaper.swapped()  # nothing old in flight
    task, sent = await _start(reaper)  # started on the current generation
    dev_task, _dev_sent = await _start(reaper, "/__edgeworks/live-reload")
    assert reaper.in_flight == 1  # the dev endpoint is not tracked
    reaper.swapped()  # a swap that did not replace the generation
    await asyncio.sleep(0.1)
    assert not task.done() and not dev_task.done()
    for t in (task, dev_task):
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
    assert reaper.in_flight == 0
    assert all(m.get("more_body", True) for m in sent[1:])


async def test_server_cancellation_reaches_the_app() -> None:
    gen = Gen()
    cancelled = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    reaper = GenerationReaper(app, lambda: gen.current, grace=10)
    task, _sent = await _start(reaper)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(cancelled.wait(), 1)


async def test_quick_request_passes_through() -> None:
    gen = Gen()
    reaper = GenerationReaper(quick_app, lambda: gen.current, grace=10)
    task, sent = await _start(reaper)
    await task
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
