"""The worker's queue(batch, env, ctx) through WorkerClient: producers in env,
delivery on the fake clock, arity, wait_until, limits, DLQ, load errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runtime.errors import WorkerLoadError
from runtime.host import RuntimeLimits
from runtime.testing import WorkerClient

CONFIG = """
name = "jobs"
main = "worker.py"

[[kv_namespaces]]
binding = "RESULTS"
id = "results"

[[queues.producers]]
binding = "JOBS"
queue = "jobs"

[[queues.consumers]]
queue = "jobs"
max_batch_size = 2
max_retries = 1
retry_delay = 30
dead_letter_queue = "jobs-dlq"
"""

WORKER = """
import asyncio
from starlette.responses import PlainTextResponse

async def handle_request(request, env, ctx):
    await env.JOBS.send({"n": int(request.query_params["n"])})
    return PlainTextResponse("queued")

async def record(env, n):
    await asyncio.sleep(0)
    await env.RESULTS.put(f"done-{n}", "yes")

async def queue(batch, env, ctx):
    for message in batch.messages:
        if message.body["n"] < 0:
            raise ValueError("negative")
        ctx.wait_until(record(env, message.body["n"]))
"""


def project(tmp_path: Path, worker: str = WORKER, config: str = CONFIG) -> Path:
    (tmp_path / "edgeworks.toml").write_text(config)
    (tmp_path / "worker.py").write_text(textwrap.dedent(worker))
    return tmp_path / "edgeworks.toml"


async def test_worker_client_sends_delivers_and_runs_wait_until(tmp_path: Path) -> None:
    async with WorkerClient(config=project(tmp_path)) as client:
        for n in (1, 2, 3):
            assert (await client.get(f"/?n={n}")).text == "queued"
        assert (await client.queues["jobs"].counts()).ready == 3
        results = await client.deliver_queues()
        assert [len(r.acked) for r in results] == [2, 1]
        for n in (1, 2, 3):
            assert await client.env.RESULTS.get(f"done-{n}") == "yes"
        assert (await client.queues["jobs"].metrics()).backlog_count == 0


async def test_worker_client_retries_on_the_fake_clock_then_dead_letters(tmp_path: Path) -> None:
    async with WorkerClient(config=project(tmp_path)) as client:
        await client.queues["jobs"].send({"n": -1})
        [first] = await client.deliver_queues()
        assert isinstance(first.error, ValueError) and len(first.retried) == 1
        assert await client.deliver_queues() == []  # retry_delay = 30 s
        client.clock.advance(30)
        [second] = await client.deliver_queues()
        assert len(second.dead_lettered) == 1
        assert (await client.queues["jobs-dlq"].counts()).ready == 1


async def test_worker_client_wait_until_failure_retries_the_batch(tmp_path: Path) -> None:
    worker = """
    from starlette.responses import Response
    async def handle_request(request):
        return Response("")
    async def fail():
        raise RuntimeError("late failure")
    async def queue(batch, env, ctx):
        ctx.wait_until(fail())
    """
    async with WorkerClient(config=project(tmp_path, worker)) as client:
        await client.queues["jobs"].send(1)
        [result] = await client.deliver_queues()
        assert str(result.error) == "late failure" and len(result.retried) == 1


@pytest.mark.parametrize("signature", ["batch", "batch, env"])
async def test_worker_client_queue_arity(tmp_path: Path, signature: str) -> None:
    worker = f"""
    from starlette.responses import Response
    seen = []
    async def handle_request(request):
        return Response("")
    async def queue({signature}):
        seen.extend(m.body for m in batch.messages)
    """
    async with WorkerClient(config=project(tmp_path, worker)) as client:
        await client.queues["jobs"].send_batch([{"body": "a"}, {"body": "b"}])
        [result] = await client.deliver_queues()
        assert len(result.acked) == 2 and result.error is None


async def test_worker_client_queue_wall_limit(tmp_path: Path) -> None:
    worker = """
    import asyncio
    from starlette.responses import Response
    async def handle_request(request):
        return Response("")
    async def queue(batch, env, ctx):
        await asyncio.sleep(10)
    """
    limits = RuntimeLimits(queue_wall_ms=50)
    async with WorkerClient(config=project(tmp_path, worker), limits=limits) as client:
        await client.queues["jobs"].send(1)
        [result] = await client.deliver_queues()
        assert str(result.error) == (
            "Queue consumer exceeded its wall time limit of 50 ms ([limits] queue_wall_ms)"
        )
        assert len(result.retried) == 1


async def test_worker_client_consumer_without_queue_function(tmp_path: Path) -> None:
    worker = """
    import queue  # the standard library module is not a consumer
    from starlette.responses import Response
    async def handle_request(request):
        return Response("")
    """
    with pytest.raises(WorkerLoadError) as err:
        async with WorkerClient(config=project(tmp_path, worker)):
            pass
    assert str(err.value) == (
        f"{tmp_path / 'worker.py'}: no queue function, but [[queues.consumers]] consumes "
        "'jobs'; define async def queue(batch, env, ctx)"
    )


async def test_worker_client_queue_not_async(tmp_path: Path) -> None:
    worker = """
    from starlette.responses import Response
    async def handle_request(request):
        return Response("")
    def queue(batch, env, ctx):
        pass
    """
    with pytest.raises(WorkerLoadError, match=r"worker.py:5: queue must be a coroutine"):
        async with WorkerClient(config=project(tmp_path, worker)):
            pass


async def test_worker_client_queue_cpu_limit(tmp_path: Path) -> None:
    worker = """
    from starlette.responses import Response
    async def handle_request(request):
        return Response("")
    async def queue(batch, env, ctx):
        while True:
            pass
    """
    limits = RuntimeLimits(cpu_ms=50)
    async with WorkerClient(config=project(tmp_path, worker), limits=limits) as client:
        await client.queues["jobs"].send(1)
        [result] = await client.deliver_queues()
        assert str(result.error) == "Worker exceeded CPU time limit"
        assert len(result.retried) == 1


async def test_uncaught_queue_errors_map_like_kv_errors(tmp_path: Path) -> None:
    from kv import StoreUnavailable

    worker = """
    from starlette.responses import Response
    async def handle_request(request, env):
        await env.JOBS.send("x" * int(request.query_params["size"]), content_type="text")
        return Response("sent")
    async def queue(batch):
        pass
    """
    async with WorkerClient(config=project(tmp_path, worker)) as client:
        assert (await client.get("/?size=10")).text == "sent"
        too_large = await client.get("/?size=128001")
        assert too_large.status_code == 500  # a bug in the worker, as on Workers
        assert "message length of 128001 bytes exceeds limit of 128000" in too_large.text

        async def down(queue: str, messages: object) -> None:
            raise StoreUnavailable("redis://127.0.0.1:1/0: Connection refused")

        client.env.JOBS._store.send = down  # the store is down
        unavailable = await client.get("/?size=10")
        assert unavailable.status_code == 503
