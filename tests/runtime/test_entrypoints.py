"""Cloudflare's entry-point styles through WorkerClient: 2024 ``js`` + ``on_fetch``,
``@handler``, ``Default(WorkerEntrypoint)``, each with wrangler.jsonc and wrangler.toml."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from runtime.errors import WorkerLoadError
from runtime.loader import load_worker
from runtime.testing import WorkerClient
from tests.runtime.cloudflare_projects import CONFIGS, STYLES, write_project

TEXT = "text/plain;charset=UTF-8"


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("style", STYLES)
async def test_entrypoint_style_serves_fetch_kv_vars_assets_and_cron(
    tmp_path: Path, style: str, config: str
) -> None:
    root = write_project(tmp_path, style, config)
    async with WorkerClient(config=root / config) as client:
        hello = await client.get("/")
        assert (hello.status_code, hello.text, hello.headers["content-type"]) == (
            200,
            "Hello world!",
            TEXT,
        )
        kv = await client.get("/kv")
        assert (kv.text, kv.headers["content-type"]) == ("baz", TEXT)
        shapes = "[None, 1, 'n', 1, True, {'m': 1}, False]"
        assert (await client.get("/kv-shapes")).text == shapes
        assert (await client.get("/var")).text == "My env var"
        static = await client.get("/static.txt")
        assert static.text == "from the assets\n"
        assert static.headers["content-type"].startswith("text/plain")
        assert (await client.get("/api/static.txt")).text == "worker first"  # run_worker_first
        assert (await client.get("/via-assets")).text == "from the assets\n"  # env.ASSETS
        assert (await client.post("/static.txt")).text == "Hello world!"  # only GET/HEAD
        await client.scheduled("* * * * *")
        assert await client.env.KV.get("cron") == "* * * * *"


async def test_default_entrypoint_is_new_per_event_and_called_leniently(tmp_path: Path) -> None:
    (tmp_path / "entry.py").write_text(
        "from workers import Response, WorkerEntrypoint\n"
        "class Default(WorkerEntrypoint):\n"
        "    def __init__(self, ctx, env):\n"
        "        super().__init__(ctx, env)\n"
        "        self.count = 0\n"
        "    def fetch(self):\n"  # sync and without the request, as in the cron example
        "        self.count += 1\n"
        "        return Response(str(self.count))\n"
        "    async def scheduled(self, controller, env, ctx):\n"
        "        ctx.waitUntil(env.KV.put('t', str(controller.scheduled_time)))\n"
        "        assert controller.scheduledTime == controller.scheduled_time\n"
        "        controller.noRetry()\n"
    )
    async with WorkerClient(tmp_path / "entry.py", kv={"KV": {}}) as client:
        assert [(await client.get("/")).text for _ in range(3)] == ["1", "1", "1"]
        await client.scheduled("*/5 * * * *", scheduled_time=1_700_000_000)
        assert await client.env.KV.get("t") == "1700000000000"  # milliseconds


async def test_responses_of_every_kind_are_sent(tmp_path: Path) -> None:
    (tmp_path / "entry.py").write_text(
        "from starlette.responses import PlainTextResponse\n"
        "from workers import Response, handler\n"
        "async def on_fetch(request):\n"
        "    if request.url.endswith('/starlette'):\n"
        "        return PlainTextResponse('native')\n"
        "    if request.url.endswith('/json'):\n"
        "        return Response.json({'n': 1}, status=201)\n"
        "    return Response.redirect('https://example.com/', 307)\n"
    )
    async with WorkerClient(tmp_path / "entry.py") as client:
        assert (await client.get("/starlette")).text == "native"
        made = await client.get("/json")
        assert made.status_code == 201 and made.json() == {"n": 1}
        moved = await client.get("/go", follow_redirects=False)
        assert moved.status_code == 307 and moved.headers["location"] == "https://example.com/"


def test_mixed_entrypoints_for_one_event_are_a_load_error(tmp_path: Path) -> None:
    worker = tmp_path / "entry.py"
    worker.write_text(
        "from workers import Response, WorkerEntrypoint\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def fetch(self, request):\n"
        "        return Response('a')\n"
        "async def on_fetch(request, env):\n"
        "    return Response('b')\n"
    )
    with pytest.raises(WorkerLoadError, match=r"Default.fetch and on_fetch both handle fetch"):
        load_worker(worker)
    worker.write_text(
        "async def handle_request(request):\n    pass\nasync def on_fetch(request):\n    pass\n"
    )
    with pytest.raises(WorkerLoadError, match=r"on_fetch and handle_request both handle fetch"):
        load_worker(worker)


async def test_default_without_fetch_answers_500_naming_what_to_define(tmp_path: Path) -> None:
    (tmp_path / "entry.py").write_text(
        "from workers import WorkerEntrypoint\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def scheduled(self, controller, env, ctx):\n"
        "        pass\n"
    )
    async with WorkerClient(tmp_path / "entry.py") as client:
        response = await client.get("/")
        assert response.status_code == 500 and "has no fetch handler" in response.text


async def test_unsupported_bindings_warn_at_start_and_fail_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "wrangler.jsonc").write_text(
        '{"name": "x", "main": "entry.py",'
        ' "d1_databases": [{"binding": "DB", "database_name": "d", "database_id": "1"}],'
        ' "durable_objects": {"bindings": [{"name": "ROOMS", "class_name": "Room"}]},'
        ' "ai": {"binding": "AI"}}'
    )
    (tmp_path / "entry.py").write_text(
        "from workers import DurableObject, Response, WorkerEntrypoint\n"
        "class Room(DurableObject):\n    pass\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def fetch(self, request):\n"
        "        if request.url.endswith('/db'):\n"
        "            return Response.json(await self.env.DB.prepare('SELECT 1').all())\n"
        "        return Response('up')\n"
    )
    with caplog.at_level(logging.WARNING):
        async with WorkerClient(config=tmp_path / "wrangler.jsonc") as client:
            warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            assert len(warnings) == 3 and all(
                "is not supported by edgeworks" in w for w in warnings
            )
            assert (await client.get("/")).text == "up"
            caplog.clear()
            failed = await client.get("/db")
    assert failed.status_code == 500
    expected = "env.DB is a D1 database binding, which edgeworks does not support"
    assert expected in failed.text and "Traceback" not in failed.text
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and expected in errors[0].getMessage() and errors[0].exc_info is None


async def test_user_frames_only_in_error_tracebacks(tmp_path: Path) -> None:
    (tmp_path / "entry.py").write_text(
        "from workers import WorkerEntrypoint\n"
        "def helper():\n    raise ValueError('boom')\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def fetch(self, request):\n"
        "        helper()\n"
    )
    async with WorkerClient(tmp_path / "entry.py") as client:
        page = (await client.get("/")).text
    assert "ValueError: boom" in page and 'entry.py", line 3, in helper' in page
    assert "runtime/" not in page.replace(str(tmp_path), "")


QUEUE_CONFIGS = {
    "wrangler.jsonc": '{"name": "q", "main": "entry.py",'
    ' "kv_namespaces": [{"binding": "KV", "id": "kv"}],'
    ' "queues": {"producers": [{"binding": "JOBS", "queue": "jobs"}],'
    ' "consumers": [{"queue": "jobs", "max_batch_size": 10, "max_retries": 2}]}}',
    "wrangler.toml": 'name = "q"\nmain = "entry.py"\n'
    '[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n'
    '[[queues.producers]]\nbinding = "JOBS"\nqueue = "jobs"\n'
    '[[queues.consumers]]\nqueue = "jobs"\nmax_batch_size = 10\nmax_retries = 2\n',
}
CONSUME = (
    "    for m in batch.messages:\n"
    "        if m.body == 'fail':\n"
    "            m.retry()\n"
    "        else:\n"
    "            await env.KV.put(m.body, f'{m.attempts} {batch.queue}')\n"
    "            m.ack()\n"
)
QUEUE_SOURCES = {
    "default_class": "from workers import Response, WorkerEntrypoint\n"
    "class Default(WorkerEntrypoint):\n"
    "    async def fetch(self, request):\n"
    "        await self.env.JOBS.send(request.url.rsplit('/', 1)[1])\n"
    "        return Response('queued')\n"
    "    async def queue(self, batch, env, ctx):\n"
    + CONSUME.replace("\n    ", "\n        ").replace("    for", "        for", 1),
    "handler": "from workers import Response, handler\n"
    "@handler\nasync def on_fetch(request, env):\n"
    "    await env.JOBS.send(request.url.rsplit('/', 1)[1])\n"
    "    return Response('queued')\n"
    "@handler\nasync def on_queue(batch, env, ctx):\n" + CONSUME,
    "js_2024": "from js import Response\n"
    "async def on_fetch(request, env):\n"
    "    await env.JOBS.send(request.url.rsplit('/', 1)[1])\n"
    "    return Response.new('queued')\n"
    "async def on_queue(batch, env, ctx):\n" + CONSUME,
}


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("style", STYLES)
async def test_queue_entrypoint_styles_consume_wrangler_queues(
    tmp_path: Path, style: str, config: str
) -> None:
    (tmp_path / "entry.py").write_text(QUEUE_SOURCES[style])
    (tmp_path / config).write_text(QUEUE_CONFIGS[config])
    async with WorkerClient(config=tmp_path / config) as client:
        assert (await client.get("/hello")).text == "queued"
        assert (await client.get("/fail")).text == "queued"
        [result] = await client.deliver_queues()
        assert len(result.acked) == 1 and len(result.retried) == 1 and result.error is None
        assert await client.env.KV.get("hello") == "1 jobs"


def test_queue_in_two_styles_is_a_load_error(tmp_path: Path) -> None:
    worker = tmp_path / "entry.py"
    worker.write_text(
        "import queue\n"  # the standard library's module is no handler
        "from workers import WorkerEntrypoint\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def queue(self, batch, env, ctx):\n        pass\n"
        "async def on_queue(batch, env, ctx):\n    pass\n"
    )
    with pytest.raises(WorkerLoadError, match=r"Default.queue and on_queue both handle queue"):
        load_worker(worker)
    worker.write_text(
        "import queue\nasync def handle_request(request):\n    pass\n"
        "async def on_queue(batch):\n    pass\n"
    )
    assert load_worker(worker).queue is not None
