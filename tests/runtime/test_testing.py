"""WorkerClient: own store and clock, seeding, config projects, mock transport."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest

from runtime.testing import FakeClock, WorkerClient

TTL_WORKER = """
from starlette.responses import Response

async def handle_request(request, env, ctx):
    if request.method == "PUT":
        await env.CACHE.put("k", await request.body(), expiration_ttl=60)
        return Response("stored")
    value = await env.CACHE.get("k")
    return Response(value or "gone")
"""


async def test_worker_client_clock_expires_ttls_without_sleeping(tmp_path: Path) -> None:
    path = tmp_path / "worker.py"
    path.write_text(textwrap.dedent(TTL_WORKER))
    async with WorkerClient(path, kv={"CACHE": {}}) as client:
        await client.put("/", content=b"fresh")
        assert (await client.get("/")).text == "fresh"
        client.clock.advance(61)
        assert (await client.get("/")).text == "gone"


async def test_worker_client_clients_are_isolated(tmp_path: Path) -> None:
    path = tmp_path / "worker.py"
    path.write_text(textwrap.dedent(TTL_WORKER))
    async with (
        WorkerClient(path, kv={"CACHE": {"k": "one"}}) as first,
        WorkerClient(path, kv={"CACHE": {}}) as second,
    ):
        assert (await first.get("/")).text == "one"
        assert (await second.get("/")).text == "gone"


async def test_worker_client_seeds_json_values(tmp_path: Path) -> None:
    path = tmp_path / "worker.py"
    path.write_text("async def handle_request(request):\n    pass\n")
    async with WorkerClient(path, kv={"DATA": {"cfg": {"a": 1}, "raw": b"\x00\x01"}}) as client:
        assert await client.env.DATA.get("cfg", type="json") == {"a": 1}
        assert await client.env.DATA.get("raw", type="bytes") == b"\x00\x01"


async def test_worker_client_loads_project_config_and_dev_vars(tmp_path: Path) -> None:
    (tmp_path / "edgeworks.toml").write_text(
        textwrap.dedent(
            """
            name = "proj"
            main = "src/worker.py"
            [vars]
            GREETING = "from toml"
            [[kv_namespaces]]
            binding = "STORE"
            id = "store-id"
            [limits]
            subrequests = 1
            """
        )
    )
    (tmp_path / ".dev.vars").write_text("TOKEN=s3cret\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "worker.py").write_text(
        textwrap.dedent(
            """
            from starlette.responses import Response
            async def handle_request(request, env, ctx):
                await ctx.fetch("https://api.example/")
                return Response(f"{env.GREETING} {env.TOKEN} {await env.STORE.get('k')}")
            """
        )
    )
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    async with WorkerClient(
        config=tmp_path / "edgeworks.toml",
        kv={"STORE": {"k": "seeded"}},
        transport=transport,
        clock=FakeClock(1_000_000),
    ) as client:
        r = await client.get("/")
        assert client.host.limits.subrequests == 1
        assert client.env.STORE.id == "store-id"
        assert client.clock() == 1_000_000
    assert r.text == "from toml s3cret seeded"


async def test_worker_client_needs_async_with(tmp_path: Path) -> None:
    path = tmp_path / "worker.py"
    path.write_text("async def handle_request(request):\n    pass\n")
    client = WorkerClient(path)
    with pytest.raises(RuntimeError, match="async with WorkerClient"):
        client.env  # noqa: B018
    with pytest.raises(TypeError, match="needs a worker path or config="):
        WorkerClient()


async def test_worker_client_projects_get_their_own_helper_modules(tmp_path: Path) -> None:
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "shared_helpers_for_test.py").write_text(f"NAME = {name!r}\n")
        (folder / "worker.py").write_text(
            textwrap.dedent(
                """
                from starlette.responses import Response
                import shared_helpers_for_test
                async def handle_request(request):
                    return Response(shared_helpers_for_test.NAME)
                """
            )
        )
    for name in ("one", "two"):
        async with WorkerClient(tmp_path / name / "worker.py") as client:
            assert (await client.get("/")).text == name
