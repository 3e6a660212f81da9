"""Cron triggers: WorkerClient.scheduled, and the serve-side schedule with an injected clock."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from runtime.cron import CronRunner, CronSchedule
from runtime.env import Env
from runtime.errors import WorkerError
from runtime.host import WorkerHost
from runtime.loader import load_worker
from runtime.testing import FakeClock, WorkerClient

WORKER = """
from starlette.responses import Response
RUNS = []

async def handle_request(request, env, ctx):
    return Response("ok")

async def scheduled(event, env, ctx):
    RUNS.append((event.cron, event.scheduled_time))
    if event.cron == "0 0 * * *":
        raise RuntimeError("nightly job failed")
    await env.JOBS.put("last", event.cron)
    ctx.wait_until(env.JOBS.put("after", "yes"))
"""

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


@pytest.fixture
def worker_path(tmp_path: Path) -> Path:
    path = tmp_path / "worker.py"
    path.write_text(textwrap.dedent(WORKER))
    return path


async def test_worker_client_scheduled_runs_handler(worker_path: Path) -> None:
    async with WorkerClient(worker_path, kv={"JOBS": {}}, clock=FakeClock(T0)) as client:
        await client.scheduled("*/5 * * * *")
        assert await client.env.JOBS.get("last") == "*/5 * * * *"
        assert await client.env.JOBS.get("after") == "yes"  # wait_until finished
        module = client.host.current.worker.module  # type: ignore[union-attr]
        assert module.RUNS == [("*/5 * * * *", T0)]
        with pytest.raises(RuntimeError, match="nightly job failed"):
            await client.scheduled("0 0 * * *")


async def test_worker_client_scheduled_without_handler_names_it(tmp_path: Path) -> None:
    path = tmp_path / "worker.py"
    path.write_text("async def handle_request(request):\n    pass\n")
    async with WorkerClient(path) as client:
        with pytest.raises(WorkerError, match="no scheduled function"):
            await client.scheduled("* * * * *")


def test_cron_schedule_next_due_in_utc() -> None:
    schedule = CronSchedule(["*/5 * * * *", "20 22 * * *", "0 3 * * *"])
    assert schedule.next_due(T0) == (T0 + 100, ["*/5 * * * *"])  # 22:15 UTC
    assert schedule.next_due(T0 + 100) == (T0 + 400, ["*/5 * * * *", "20 22 * * *"])
    assert CronSchedule(["0 3 * * *"]).next_due(T0) == (T0 + 17_200, ["0 3 * * *"])


async def test_cron_runner_runs_on_schedule_and_survives_failures(
    worker_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from kv import KVNamespace, open_store

    store = open_store("memory://")
    clock = FakeClock(T0)
    host = WorkerHost(load_worker(worker_path), Env({"JOBS": KVNamespace(store, "jobs")}))
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    # 23:59:00 -> next due: 00:00 (both), then 00:05.
    clock.set(1_700_006_340.0)
    runner = CronRunner(host, ["*/5 * * * *", "0 0 * * *"], clock=clock, sleep=fake_sleep)
    first = await runner.tick()
    await host.drain()
    second = await runner.tick()
    await host.drain()
    module = host.current.worker.module  # type: ignore[union-attr]
    midnight = 1_700_006_400.0
    assert slept == [60.0, 300.0]
    assert [e.cron for e in first] == ["*/5 * * * *", "0 0 * * *"]
    assert [e.scheduled_time for e in first + second] == [midnight, midnight, midnight + 300]
    assert sorted(module.RUNS) == sorted(
        [("*/5 * * * *", midnight), ("0 0 * * *", midnight), ("*/5 * * * *", midnight + 300)]
    )
    assert runner.runs == 3 and runner.failures == 1
    assert "scheduled run for '0 0 * * *' failed" in caplog.text
    await store.aclose()


async def test_cron_runner_start_and_stop(worker_path: Path) -> None:
    host = WorkerHost(load_worker(worker_path), Env({}))
    gate = asyncio.Event()

    async def blocked_sleep(seconds: float) -> None:
        await gate.wait()

    runner = CronRunner(host, ["* * * * *"], sleep=blocked_sleep)
    runner.start()
    await asyncio.sleep(0)
    await runner.stop()
    assert runner.runs == 0
    CronRunner(host, []).start()  # no crons: nothing to run
