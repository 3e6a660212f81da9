"""cpu_ms and wall_ms: runaway handlers are cut and the server keeps answering."""

from __future__ import annotations

import asyncio
import textwrap
import time
from pathlib import Path

import pytest

from runtime._cpu import CpuInterrupt, guarded
from runtime.errors import LimitExceeded
from runtime.host import RuntimeLimits
from runtime.testing import WorkerClient

RUNAWAY = """
import asyncio, time
from starlette.responses import Response

async def handle_request(request, env, ctx):
    path = request.url.path
    if path == "/spin":
        while True:
            pass
    if path == "/spin-after-await":
        await asyncio.sleep(0)
        n = 0
        while True:
            n += 1
    if path == "/swallow":
        while True:
            try:
                while True:
                    pass
            except Exception:
                pass
    if path == "/blocking-sleep":
        time.sleep(30)
    if path == "/never":
        await asyncio.Event().wait()
    if path == "/yielding":
        for _ in range(20):
            await asyncio.sleep(0.005)
        return Response("yielded")
    return Response("ok")
"""


@pytest.fixture
def runaway(tmp_path: Path) -> Path:
    path = tmp_path / "worker.py"
    path.write_text(textwrap.dedent(RUNAWAY))
    return path


LIMITS = RuntimeLimits(cpu_ms=100, wall_ms=400)


@pytest.mark.parametrize("path", ["/spin", "/spin-after-await", "/swallow", "/blocking-sleep"])
async def test_cpu_limit_interrupts_runaway_handler(runaway: Path, path: str) -> None:
    async with WorkerClient(runaway, limits=LIMITS) as client:
        started = time.monotonic()
        r = await client.get(path)
        elapsed = time.monotonic() - started
        after = await client.get("/")
    assert (r.status_code, r.text) == (503, "Worker exceeded CPU time limit\n")
    assert elapsed < 1.0
    assert (after.status_code, after.text) == (200, "ok")


async def test_cpu_limit_serves_waiting_requests_right_after_the_cut(runaway: Path) -> None:
    async with WorkerClient(runaway, limits=LIMITS) as client:
        started = time.monotonic()
        spin = asyncio.ensure_future(client.get("/spin"))
        others = [asyncio.ensure_future(client.get("/")) for _ in range(20)]
        results = await asyncio.gather(spin, *others)
        elapsed = time.monotonic() - started
    assert results[0].status_code == 503
    assert [r.status_code for r in results[1:]] == [200] * 20
    assert elapsed < 0.1 + 0.5  # the cut, then the waiting requests


async def test_cpu_limit_counts_stretches_not_total_time(runaway: Path) -> None:
    # 20 x 5 ms of waiting is > cpu_ms in total but never a long stretch.
    async with WorkerClient(runaway, limits=RuntimeLimits(cpu_ms=50, wall_ms=5000)) as client:
        r = await client.get("/yielding")
    assert (r.status_code, r.text) == (200, "yielded")


async def test_wall_limit_answers_504_for_never_resolving_await(runaway: Path) -> None:
    async with WorkerClient(runaway, limits=LIMITS) as client:
        started = time.monotonic()
        r = await client.get("/never")
        elapsed = time.monotonic() - started
        after = await client.get("/")
    assert (r.status_code, r.text) == (504, "Worker exceeded wall time limit\n")
    assert 0.35 < elapsed < 2.0
    assert after.status_code == 200


async def test_guarded_interrupt_never_lands_outside_guarded_steps() -> None:
    # Busy unguarded code (the event loop's own work) runs for longer than the limit
    # while a guarded coroutine is suspended: nothing may be raised there.
    async def short_steps() -> str:
        for _ in range(5):
            await asyncio.sleep(0.02)
        return "done"

    task = asyncio.ensure_future(guarded(short_steps(), 10))  # type: ignore[arg-type]
    end = time.monotonic() + 0.15
    while time.monotonic() < end:  # unguarded spinning: allowed
        pass
    assert await task == "done"


async def test_guarded_raises_cpu_interrupt_inside_the_step() -> None:
    seen: list[str] = []

    async def spin() -> None:
        try:
            while True:
                pass
        except CpuInterrupt:
            seen.append("inside")
            raise

    with pytest.raises(CpuInterrupt):
        await guarded(spin(), 30)
    assert seen == ["inside"]


async def test_wall_limit_closes_handler_that_swallows_cancellation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runtime._cpu.CANCEL_GRACE_MS", 200)
    path = tmp_path / "worker.py"
    path.write_text(
        textwrap.dedent(
            """
            import asyncio
            from starlette.responses import Response
            async def handle_request(request):
                if request.url.path == "/ok":
                    return Response("ok")
                while True:
                    try:
                        await asyncio.sleep(10)
                    except asyncio.CancelledError:
                        pass
            """
        )
    )
    async with WorkerClient(path, limits=RuntimeLimits(wall_ms=100)) as client:
        started = time.monotonic()
        r = await client.get("/")
        elapsed = time.monotonic() - started
        after = await client.get("/ok")
        await asyncio.sleep(0.3)  # the escalation timer must not fire after the request
        later = await client.get("/ok")
    assert (r.status_code, r.text) == (504, "Worker exceeded wall time limit\n")
    assert elapsed < 0.1 + 0.2 + 0.5  # wall_ms + CANCEL_GRACE_MS
    assert after.text == "ok" and later.text == "ok"
    assert "kept running after it was cancelled" in caplog.text


async def test_cancelled_handler_may_await_cleanup(tmp_path: Path) -> None:
    path = tmp_path / "worker.py"
    path.write_text(
        textwrap.dedent(
            """
            import asyncio
            CLEANED = []
            async def handle_request(request):
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    await asyncio.sleep(0.01)
                    CLEANED.append(True)
                    raise
            """
        )
    )
    async with WorkerClient(path, limits=RuntimeLimits(wall_ms=50)) as client:
        r = await client.get("/")
        module = client.host.current.worker.module  # type: ignore[union-attr]
    assert r.status_code == 504 and module.CLEANED == [True]


async def test_cpu_limit_under_concurrent_load_hits_only_runaways(runaway: Path) -> None:
    # Spinners, sleepers and normal requests interleaved: only spinners get 503, and
    # every interrupt lands in a spinning handler (never in the loop or another request).
    async with WorkerClient(runaway, limits=RuntimeLimits(cpu_ms=50, wall_ms=5000)) as client:
        paths = ["/spin" if i % 10 == 0 else "/yielding" if i % 3 == 0 else "/" for i in range(60)]
        results = await asyncio.gather(*(client.get(path) for path in paths))
    for path, r in zip(paths, results, strict=True):
        expected = 503 if path == "/spin" else 200
        assert r.status_code == expected, (path, r.status_code, r.text)


async def test_cpu_limit_covers_streaming_body_iterators(tmp_path: Path) -> None:
    path = tmp_path / "worker.py"
    path.write_text(
        textwrap.dedent(
            """
            from starlette.responses import Response, StreamingResponse
            async def body():
                yield b"first,"
                while True:
                    pass
            async def handle_request(request):
                if request.url.path == "/ok":
                    return Response("ok")
                return StreamingResponse(body())
            """
        )
    )
    async with WorkerClient(path, limits=RuntimeLimits(cpu_ms=100)) as client:
        started = time.monotonic()
        # The status line is out: the response is aborted (a server closes the connection).
        with pytest.raises(LimitExceeded, match="Worker exceeded CPU time limit"):
            await client.get("/")
        elapsed = time.monotonic() - started
        after = await client.get("/ok")
    assert elapsed < 1.0
    assert after.text == "ok"
