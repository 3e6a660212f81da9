"""Cloudflare Python Workers projects under a real `edgeworks dev` (and `serve`) process:
each entry-point style with wrangler.jsonc and wrangler.toml, var precedence, bindings
edgeworks does not provide, output as a Workers user expects."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from runtime import _standins
from tests.runtime.cloudflare_projects import CONFIGS, STYLES, write_project
from tests.support import Proc, edgeworks

TEXT = "text/plain;charset=UTF-8"
# print() must reach the output at once without PYTHONUNBUFFERED (stdout is a pipe here).
BUFFERED = {"PYTHONUNBUFFERED": ""}


def _start(*args: str, cwd: Path) -> tuple[Proc, str]:
    proc = edgeworks(*args, "--port", "0", cwd=cwd, env=BUFFERED)
    url = proc.wait_for(r"Listening on (http://\S+)", timeout=30).group(1)
    return proc, url


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("style", STYLES)
def test_dev_runs_the_project_unmodified(tmp_path: Path, style: str, config: str) -> None:
    root = write_project(tmp_path, style, config)
    proc, url = _start("dev", "--ephemeral", cwd=root)
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            hello = client.get("/")
            assert (hello.text, hello.headers["content-type"]) == ("Hello world!", TEXT)
            proc.wait_for(r"^handled $")  # print() shows while the server runs
            assert client.get("/kv").text == "baz"
            shapes = "[None, 1, 'n', 1, True, {'m': 1}, False]"
            assert client.get("/kv-shapes").text == shapes
            assert client.get("/var").text == "My env var"
            assert client.get("/static.txt").text == "from the assets\n"
            assert client.get("/api/static.txt").text == "worker first"
            assert client.get("/cron").text == "no run yet"
            ran = client.post("/__edgeworks/scheduled")  # the configured trigger, now
            assert ran.json() == {"ok": True, "cron": "* * * * *"}
            assert client.get("/cron").text == "* * * * *"
    finally:
        assert proc.stop() == 0


def test_dev_var_precedence_and_env_sections(tmp_path: Path) -> None:
    root = write_project(tmp_path, "default_class", "wrangler.jsonc")
    text = (root / "wrangler.jsonc").read_text()
    trigger = '"triggers": {"crons": ["* * * * *"]},'
    staging = (
        '"env": {"staging": {"vars": {"MESSAGE": "staging var"},'
        ' "kv_namespaces": [{"binding": "KV", "id": "stage"}]}},'
    )
    (root / "wrangler.jsonc").write_text(text.replace(trigger, trigger + staging))
    (root / ".env").write_text("MESSAGE=from .env\n")
    proc, url = _start("dev", "--ephemeral", cwd=root)
    try:
        assert httpx.get(url + "/var", timeout=10).text == "from .env"
    finally:
        proc.stop()
    (root / ".dev.vars").write_text("MESSAGE=from .dev.vars\n")  # .env is not read now
    args = ("--env", "staging", "--var", "MESSAGE:from --var")
    proc, url = _start("dev", "--ephemeral", *args, cwd=root)
    try:
        assert httpx.get(url + "/var", timeout=10).text == "from --var"
        assert "edgeworks dev · py-worker-staging" in proc.output
        assert "KV  KV namespace  stage" in proc.output  # the section's own binding
    finally:
        proc.stop()


def test_serve_env_file_and_var_override_vars(tmp_path: Path) -> None:
    root = write_project(tmp_path, "handler", "wrangler.toml")
    (root / "prod.env").write_text("MESSAGE=from env file\n")
    proc, url = _start("serve", "--kv", "memory://", "--env-file", "prod.env", cwd=root)
    try:
        assert httpx.get(url + "/var", timeout=10).text == "from env file"
    finally:
        proc.stop()
    proc, url = _start(
        "serve", "--kv", "memory://", "--env-file", "prod.env", "--var", "MESSAGE:cli", cwd=root
    )
    try:
        assert httpx.get(url + "/var", timeout=10).text == "cli"
    finally:
        proc.stop()
    (root / "prod.env").write_text("KV=shadow\n")
    proc = edgeworks("serve", "--kv", "memory://", "--env-file", "prod.env", cwd=root)
    try:
        assert proc.wait(30) == 2
        assert "secrets.KV is already used by kv_namespaces" in proc.output
    finally:
        proc.stop()


def test_dev_unsupported_bindings_warn_once_and_fail_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "wrangler.jsonc").write_text(
        '{"name": "x", "main": "src/entry.py",'
        ' "d1_databases": [{"binding": "DB", "database_name": "d", "database_id": "1"}],'
        ' "durable_objects": {"bindings": [{"name": "ROOMS", "class_name": "Room"}]},'
        ' "ai": {"binding": "AI"}}'
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text(
        "from workers import Response, WorkerEntrypoint\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def fetch(self, request):\n"
        "        if request.url.endswith('/db'):\n"
        "            return Response.json(await self.env.DB.prepare('SELECT 1').all())\n"
        "        return Response('up')\n"
    )
    proc, url = _start("dev", "--ephemeral", cwd=tmp_path)
    try:
        assert httpx.get(url + "/", timeout=10).text == "up"
        failed = httpx.get(url + "/db", timeout=10)
        assert failed.status_code == 500
        proc.wait_for(r"GET /db: env\.DB is a D1 database binding")
    finally:
        proc.stop()
    warnings = [
        line for line in proc.output.splitlines() if "is not supported by edgeworks" in line
    ]
    assert len(warnings) == 3, proc.output
    assert "Traceback" not in proc.output and "Traceback" not in failed.text
    assert "ROOMS  Durable Object namespace  (not supported: fails when used)" in proc.output


def test_dev_error_shows_user_frames_unless_debug(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text('name = "x"\nmain = "src/entry.py"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text(
        "from workers import WorkerEntrypoint\n"
        "def helper():\n    raise ValueError('boom')\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def fetch(self, request):\n"
        "        helper()\n"
    )
    for debug in (False, True):
        flags = ("--debug",) if debug else ()
        proc, url = _start("dev", "--ephemeral", *flags, cwd=tmp_path)
        try:
            page = httpx.get(url + "/", timeout=10).text
            proc.wait_for(r"^ValueError: boom")
        finally:
            proc.stop()
        assert 'entry.py", line 3, in helper' in page and "line 3, in helper" in proc.output
        internal = "runtime/_entrypoints.py"
        assert (internal in page) is debug and (internal in proc.output) is debug


def test_dev_runs_a_default_entrypoint_queue_consumer(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text(
        'name = "q"\nmain = "src/entry.py"\n'
        '[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n'
        '[[queues.producers]]\nbinding = "JOBS"\nqueue = "jobs"\n'
        '[[queues.consumers]]\nqueue = "jobs"\nmax_batch_size = 1\n'
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text(
        "from workers import Response, WorkerEntrypoint\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def fetch(self, request):\n"
        "        if request.url.endswith('/send'):\n"
        "            await self.env.JOBS.send({'job': 7})\n"
        "            return Response('sent')\n"
        "        return Response(await self.env.KV.get('done') or 'pending')\n"
        "    async def queue(self, batch, env, ctx):\n"
        "        for m in batch.messages:\n"
        "            print('consumed', m.body['job'])\n"
        "            await env.KV.put('done', str(m.body['job']))\n"
    )
    proc, url = _start("dev", "--ephemeral", cwd=tmp_path)
    try:
        assert httpx.get(url + "/send", timeout=10).text == "sent"
        proc.wait_for(r"^consumed 7$")
        assert httpx.get(url + "/", timeout=10).text == "7"
    finally:
        assert proc.stop() == 0


def test_dev_watches_both_secrets_files(tmp_path: Path) -> None:
    from runtime.config import load_config
    from runtime.dev.plan import ChangeKind
    from runtime.dev.project import watch_plan

    (tmp_path / "wrangler.toml").write_text('name = "x"\n')
    plan = watch_plan(load_config(cwd=tmp_path, environ={}))
    # Neither exists yet: creating either one changes env.
    assert plan.classify(tmp_path / ".dev.vars") is ChangeKind.CONFIG
    assert plan.classify(tmp_path / ".env") is ChangeKind.CONFIG
    assert plan.classify(tmp_path / ".envrc") is None


@pytest.mark.parametrize("framework", ["fastapi", "django"])
def test_dev_serves_fastapi_and_django_workers(tmp_path: Path, framework: str) -> None:
    from tests.workers.test_sdk_frameworks import CONFIG, DJANGO_WORKER, FASTAPI_WORKER

    (tmp_path / "src").mkdir()
    source = FASTAPI_WORKER if framework == "fastapi" else DJANGO_WORKER
    (tmp_path / "src" / "entry.py").write_text(source)
    (tmp_path / "wrangler.jsonc").write_text(CONFIG)
    proc, url = _start("dev", "--ephemeral", cwd=tmp_path)
    try:
        answer = httpx.get(url + ("/env" if framework == "fastapi" else "/"), timeout=20)
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["message" if framework == "fastapi" else "var"] == "My env var"
    finally:
        assert proc.stop() == 0


async def test_dev_cron_loop_fires_the_cloudflare_scheduled_handler(tmp_path: Path) -> None:
    from runtime.dev.server import DevOptions, DevServer

    root = write_project(tmp_path, "default_class", "wrangler.jsonc")
    server = DevServer(DevOptions(cwd=root, ephemeral=True))
    try:
        await server.setup()
        assert server.config is not None and server.host is not None
        await server._restart_cron(server.config)
        cron = server.cron
        assert cron is not None and cron.schedule.crons == ["* * * * *"]
        await cron.stop()  # drive the loop by hand: no waiting for the minute

        async def no_wait(_seconds: float) -> None:
            return None

        cron.sleep = no_wait
        [event] = await cron.tick()
        await server.host.drain()
        namespace = server.host.current.env.KV
        assert await namespace.get("cron") == "* * * * *" == event.cron
    finally:
        await server._close()
        _standins.uninstall()  # this process is the test run, not a dev server
