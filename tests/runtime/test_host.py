"""WorkerHost and create_app used directly: swap, fail, drain, access log, dev routes, env."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from pathlib import Path

import httpx
import pytest
from starlette.responses import PlainTextResponse

from runtime.app import create_app
from runtime.env import Env, build_env
from runtime.errors import WorkerLoadError
from runtime.host import RuntimeLimits, WorkerHost
from runtime.loader import load_worker


def write_worker(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path


def client_for(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")  # type: ignore[arg-type]


GATED = """
import asyncio
from starlette.responses import Response
GATE = asyncio.Event()
async def handle_request(request, env, ctx):
    if request.url.path == "/wait":
        await GATE.wait()
    return Response("{version}")
"""


async def test_host_swap_keeps_in_flight_requests_on_old_generation(tmp_path: Path) -> None:
    old = load_worker(write_worker(tmp_path / "v1.py", GATED.format(version="v1")))
    new = load_worker(write_worker(tmp_path / "v2.py", GATED.format(version="v2")))
    host = WorkerHost(old, Env())
    async with client_for(create_app(host, access_log=False)) as client:
        in_flight = asyncio.ensure_future(client.get("/wait"))
        await asyncio.sleep(0.01)
        host.swap(new)
        assert (await client.get("/")).text == "v2"
        old.module.GATE.set()
        assert (await in_flight).text == "v1"


async def test_host_fail_serves_error_page_until_next_swap(tmp_path: Path) -> None:
    worker = load_worker(write_worker(tmp_path / "w.py", GATED.format(version="good")))
    host = WorkerHost(worker, Env())
    error = WorkerLoadError("/p/worker.py:3: SyntaxError: invalid syntax")
    async with client_for(create_app(host, mode="dev", access_log=False)) as client:
        host.fail(error)
        text = await client.get("/", headers={"accept": "*/*"})
        html = await client.get("/", headers={"accept": "text/html"})
        host.swap(worker)
        good = await client.get("/")
    assert text.status_code == 500
    assert "/p/worker.py:3: SyntaxError: invalid syntax" in text.text
    assert html.headers["content-type"].startswith("text/html")
    assert "/p/worker.py:3: SyntaxError: invalid syntax" in html.text
    assert good.text == "good"


async def test_host_without_worker_answers_500() -> None:
    async with client_for(create_app(WorkerHost(), access_log=False)) as client:
        r = await client.get("/")
    assert (r.status_code, r.text) == (500, "Internal Server Error\n")


async def test_host_set_env_rebinds_service_worker_globals(tmp_path: Path) -> None:
    path = write_worker(
        tmp_path / "sw.py",
        """
        from starlette.responses import Response
        async def handle_request(request):
            return Response(GREETING)
        """,
    )
    host = WorkerHost(load_worker(path), Env({"GREETING": "one"}))
    async with client_for(create_app(host, access_log=False)) as client:
        assert (await client.get("/")).text == "one"
        host.set_env(Env({"GREETING": "two"}))
        assert (await client.get("/")).text == "two"


async def test_host_drain_cancels_and_logs_work_past_the_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = WorkerHost(limits=RuntimeLimits(drain_ms=50))
    done: list[str] = []

    async def quick() -> None:
        done.append("quick")

    async def forever() -> None:
        await asyncio.Event().wait()

    host.run_later(quick())
    host.run_later(forever())
    assert host.pending == 2
    cancelled = await host.drain()
    assert cancelled == 1 and done == ["quick"] and host.pending == 0
    assert "cancelled 1 wait_until task(s)" in caplog.text


async def test_app_writes_access_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    worker = load_worker(write_worker(tmp_path / "w.py", GATED.format(version="x")))
    caplog.set_level(logging.INFO, logger="edgeworks.access")
    app = create_app(WorkerHost(worker, Env()))
    async with client_for(app) as client:
        await client.post("/some/path", content=b"1")
        await client.get("/a%0aforged%201%1b")
    app.access.flush()  # lines are written in batches; the lifespan shutdown flushes too
    (record,) = [r for r in caplog.records if r.name == "edgeworks.access"]
    first, second = record.getMessage().split("\n")
    client, method, path, status, size, duration = first.split()
    assert (client, method, path, status, size) == ("127.0.0.1", "POST", "/some/path", "200", "1")
    assert duration.endswith("ms") and float(duration[:-2]) >= 0
    assert second.split()[2] == "/a%0aforged%201%1b"  # the path as sent, never decoded


async def test_app_extra_routes_only_in_dev(tmp_path: Path) -> None:
    worker = load_worker(write_worker(tmp_path / "w.py", GATED.format(version="x")))
    status = PlainTextResponse("status", status_code=202)
    routes = {"/__edgeworks/status": status}
    dev = create_app(WorkerHost(worker, Env()), mode="dev", extra_routes=routes)
    serve = create_app(WorkerHost(worker, Env()), mode="serve", extra_routes=routes)
    async with client_for(dev) as client:
        r = await client.get("/__edgeworks/status")
        assert (r.status_code, r.text) == (202, "status")
        assert (await client.get("/__edgeworks/health")).status_code == 200
        assert (await client.get("/__edgeworks/nope")).status_code == 404
    async with client_for(serve) as client:
        assert (await client.get("/__edgeworks/status")).status_code == 404
        assert (await client.get("/__edgeworks/health")).status_code == 200


async def test_app_lifespan_runs_hooks_and_drains(tmp_path: Path) -> None:
    events: list[str] = []

    async def up() -> None:
        events.append("startup")

    async def down() -> None:
        events.append("shutdown")

    app = create_app(WorkerHost(), on_startup=[up], on_shutdown=[down])
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return next(messages)

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan"}, receive, send)  # type: ignore[arg-type]
    assert events == ["startup", "shutdown"]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_pass_through_without_origin_is_500(tmp_path: Path) -> None:
    path = write_worker(
        tmp_path / "w.py",
        """
        async def handle_request(request, env, ctx):
            ctx.pass_through_on_exception()
            raise RuntimeError("no origin configured")
        """,
    )
    async with client_for(create_app(WorkerHost(load_worker(path), Env()))) as client:
        r = await client.get("/")
    assert r.status_code == 500


def test_env_exposes_exactly_the_bindings() -> None:
    env = Env({"B": "1", "A": "2"})
    assert (env.A, env["B"], "A" in env, "C" in env) == ("2", "1", True, False)
    assert list(env) == ["A", "B"] and len(env) == 2 and dir(env) == ["A", "B"]
    with pytest.raises(AttributeError, match="env has no binding 'C'; configured bindings: A, B"):
        env.C  # noqa: B018
    with pytest.raises(AttributeError, match="no bindings are configured"):
        Env().C  # noqa: B018
    with pytest.raises(AttributeError, match="read-only"):
        env.A = "3"
    with pytest.raises(KeyError):
        env["C"]


async def test_build_env_makes_kv_namespaces_over_one_store() -> None:
    from kv import EdgeCache, KVNamespace, open_store

    store = open_store("memory://")
    cache = EdgeCache()
    env = build_env(
        store=store,
        kv_namespaces={"A": "shared", "B": "shared"},
        vars={"V": "x"},
        secrets={"S": "y"},
        cache=cache,
    )
    assert isinstance(env.A, KVNamespace) and env.A.cache is cache
    await env.A.put("k", "v")
    assert await env.B.get("k") == "v"  # one id, one namespace
    assert (env.V, env.S) == ("x", "y")
    with pytest.raises(ValueError, match="need a store"):
        build_env(kv_namespaces={"A": "a"})
    await store.aclose()
