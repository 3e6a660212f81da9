"""The ASGI app through WorkerClient: arities, returns, errors, methods, body limit."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest

from runtime.host import RuntimeLimits
from runtime.testing import WorkerClient


def worker(tmp_path: Path, source: str, name: str = "worker.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


async def test_app_calls_three_parameter_handler(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from starlette.responses import Response
        async def handle_request(request, env, ctx):
            return Response(f"{request.url.path} {env.GREETING} {type(ctx).__name__}")
        """,
    )
    async with WorkerClient(path, vars={"GREETING": "hi"}) as client:
        r = await client.get("/a")
    assert (r.status_code, r.text) == (200, "/a hi Context")


async def test_app_calls_two_parameter_handler(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from starlette.responses import Response
        async def handle_request(request, env):
            return Response(env.GREETING)
        """,
    )
    async with WorkerClient(path, vars={"GREETING": "two"}) as client:
        assert (await client.get("/")).text == "two"


async def test_app_gives_one_parameter_handler_bindings_as_globals(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from starlette.responses import Response
        async def handle_request(request):
            await COUNTER.put("k", "v")
            return Response(GREETING + " " + await COUNTER.get("k"))
        """,
    )
    async with WorkerClient(path, vars={"GREETING": "sw"}, kv={"COUNTER": {}}) as client:
        r = await client.get("/")
    assert r.text == "sw v"


async def test_app_unknown_binding_names_configured_ones(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        async def handle_request(request, env):
            return env.NOPE
        """,
    )
    async with WorkerClient(path, vars={"B": "1", "A": "2"}) as client:
        r = await client.get("/")
    assert r.status_code == 500
    assert "env has no binding 'NOPE'; configured bindings: A, B" in r.text


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_app_passes_methods_and_bodies(tmp_path: Path, method: str) -> None:
    path = worker(
        tmp_path,
        """
        from starlette.responses import Response
        async def handle_request(request, env, ctx):
            body = await request.body()
            return Response(request.method + ":" + body.decode())
        """,
    )
    async with WorkerClient(path) as client:
        r = await client.request(method, "/", content=b"payload")
    assert r.text == f"{method}:payload"


async def test_app_head_has_no_body(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from starlette.responses import Response
        async def handle_request(request):
            return Response("x" * 10)
        """,
    )
    async with WorkerClient(path) as client:
        r = await client.head("/")
    assert r.status_code == 200


async def test_app_streams_streaming_response(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from starlette.responses import StreamingResponse
        async def chunks():
            for i in range(3):
                yield f"{i},".encode()
        async def handle_request(request):
            return StreamingResponse(chunks(), media_type="text/plain")
        """,
    )
    async with WorkerClient(path) as client:
        assert (await client.get("/")).text == "0,1,2,"


async def test_app_rejects_other_return_types_naming_them(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        async def handle_request(request):
            return {"not": "a response"}
        """,
    )
    async with WorkerClient(path) as client:
        r = await client.get("/")
    assert r.status_code == 500
    assert "handle_request returned dict" in r.text


async def test_app_maps_error_status(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        class Teapot(Exception):
            status = 418
        async def handle_request(request):
            raise Teapot("short and stout")
        """,
    )
    async with WorkerClient(path) as client:
        r = await client.get("/")
    assert r.status_code == 418


async def test_app_dev_error_page_html_for_browsers_text_for_curl(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        async def handle_request(request):
            raise ValueError("kaboom")
        """,
    )
    async with WorkerClient(path) as client:
        html = await client.get("/", headers={"accept": "text/html,*/*"})
        text = await client.get("/", headers={"accept": "*/*"})
        again = await client.get("/")
    assert html.status_code == 500 and html.headers["content-type"].startswith("text/html")
    assert "ValueError" in html.text and "kaboom" in html.text and "<pre>" in html.text
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text.startswith("500 ValueError: kaboom") and "Traceback" in text.text
    assert again.status_code == 500  # the server keeps answering


async def test_app_uncaught_kv_errors_are_500_except_store_unavailable(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from kv import KVError
        async def handle_request(request):
            if request.url.path == "/down":
                raise KVError("GET", 503, "Store unavailable: redis down")
            raise KVError("PUT", 413, "Value too large")
        """,
    )
    async with WorkerClient(path) as client:
        assert (await client.get("/down")).status_code == 503
        assert (await client.get("/big")).status_code == 500


async def test_app_health_and_dev_paths(tmp_path: Path) -> None:
    path = worker(tmp_path, "async def handle_request(request):\n    raise AssertionError\n")
    async with WorkerClient(path) as client:
        assert (await client.get("/__edgeworks/health")).status_code == 200
        assert (await client.get("/__edgeworks/status")).status_code == 404


async def test_app_body_over_limit_is_413_without_calling_handler(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from starlette.responses import Response
        CALLS = []
        async def handle_request(request):
            CALLS.append(1)
            return Response(str(len(await request.body())))
        """,
    )
    limits = RuntimeLimits(max_body_bytes=100)
    async with WorkerClient(path, limits=limits) as client:
        ok = await client.post("/", content=b"x" * 100)
        too_big = await client.post("/", content=b"x" * 101)

        async def chunks():  # no Content-Length: counted while receiving
            for _ in range(5):
                yield b"y" * 30

        chunked = await client.post("/", content=chunks())
        module = client.host.current.worker.module  # type: ignore[union-attr]
    assert (ok.status_code, ok.text) == (200, "100")
    assert too_big.status_code == 413
    assert "101 bytes exceeds limit of 100 bytes" in too_big.text
    assert chunked.status_code == 413
    assert module.CALLS == [1]


async def test_app_wait_until_runs_after_response_and_logs_failures(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = worker(
        tmp_path,
        """
        from starlette.responses import Response
        EVENTS = []
        async def later(tag):
            EVENTS.append(tag)
        async def fails():
            raise RuntimeError("background failure")
        async def handle_request(request, env, ctx):
            ctx.wait_until(later("after"))
            ctx.wait_until(fails())
            EVENTS.append("handler")
            return Response("ok")
        """,
    )
    async with WorkerClient(path) as client:
        r = await client.get("/")
        module = client.host.current.worker.module  # type: ignore[union-attr]
    assert r.text == "ok"
    assert module.EVENTS == ["handler", "after"]
    assert "wait_until task failed" in caplog.text
    assert "background failure" in caplog.text


async def test_app_wait_until_rejects_non_awaitables(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        async def handle_request(request, env, ctx):
            ctx.wait_until(42)
        """,
    )
    async with WorkerClient(path) as client:
        r = await client.get("/")
    assert r.status_code == 500 and "wait_until() takes an awaitable" in r.text


async def test_app_httpx_response_from_fetch_is_sent(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from runtime import fetch
        async def handle_request(request, env, ctx):
            if request.url.path == "/stream":
                return await ctx.fetch("https://origin.example/s", stream=True)
            return await fetch("https://origin.example" + request.url.path)
        """,
    )
    seen: list[str] = []

    def origin(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(201, text="from origin", headers={"x-origin": "1"})

    async with WorkerClient(path, transport=httpx.MockTransport(origin)) as client:
        r = await client.get("/thing")
        s = await client.get("/stream")
    assert (r.status_code, r.text, r.headers["x-origin"]) == (201, "from origin", "1")
    assert (s.status_code, s.text) == (201, "from origin")
    assert seen == ["https://origin.example/thing", "https://origin.example/s"]


async def test_app_subrequest_limit_raises_naming_the_limit(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from starlette.responses import Response
        from runtime import fetch, LimitExceeded
        async def handle_request(request, env, ctx):
            for i in range(3):
                await fetch("https://api.example/")
            try:
                await fetch("https://api.example/")
            except LimitExceeded as exc:
                return Response(str(exc), status_code=429)
            return Response("no limit")
        """,
    )
    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    async with WorkerClient(path, transport=transport, limits=RuntimeLimits(subrequests=3)) as c:
        r = await c.get("/")
        again = await c.get("/")  # the count is per request
    assert r.status_code == 429
    assert "the limit is 3 ([limits] subrequests)" in r.text
    assert again.status_code == 429


async def test_app_unmocked_fetch_fails_loudly(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from runtime import fetch
        async def handle_request(request):
            return await fetch("https://example.com/")
        """,
    )
    async with WorkerClient(path) as client:
        r = await client.get("/")
    assert r.status_code == 500
    assert "outbound fetch to https://example.com/ is not mocked" in r.text


@pytest.mark.parametrize(
    "raise_", ["KeyboardInterrupt()", "SystemExit(0)", "RecursionError()", "Custom()"]
)
async def test_app_base_exceptions_are_500_and_server_keeps_going(
    tmp_path: Path, raise_: str
) -> None:
    path = worker(
        tmp_path,
        f"""
        from starlette.responses import Response
        class Custom(BaseException):
            pass
        async def handle_request(request):
            if request.url.path == "/ok":
                return Response("ok")
            raise {raise_}
        """,
    )
    async with WorkerClient(path) as client:
        r = await client.get("/")
        after = await client.get("/ok")
    assert r.status_code == 500
    assert (after.status_code, after.text) == (200, "ok")


async def test_app_none_return_names_the_type(tmp_path: Path) -> None:
    path = worker(tmp_path, "async def handle_request(request):\n    return None\n")
    async with WorkerClient(path) as client:
        r = await client.get("/")
    assert r.status_code == 500 and "handle_request returned NoneType" in r.text


async def test_app_kv_operation_budget_when_enabled(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from starlette.responses import Response
        async def handle_request(request, env):
            for _ in range(int(request.query_params["n"])):
                await env.KV.get("k")
            return Response("ok")
        """,
    )
    limits = RuntimeLimits(kv_operations=3)
    async with WorkerClient(path, kv={"KV": {}}, limits=limits) as client:
        assert (await client.get("/?n=3")).status_code == 200
        over = await client.get("/?n=4")
        assert (await client.get("/?n=3")).status_code == 200  # counted per request
    assert over.status_code == 500 and "429" in over.text
    async with WorkerClient(path, kv={"KV": {}}) as client:  # off by default
        assert (await client.get("/?n=1001")).status_code == 200


async def test_app_wait_until_fetch_uses_the_request_context(tmp_path: Path) -> None:
    path = worker(
        tmp_path,
        """
        from starlette.responses import Response
        from runtime import fetch
        SEEN = []
        async def later():
            SEEN.append((await fetch("https://api.example/later")).status_code)
        async def handle_request(request, env, ctx):
            ctx.wait_until(later())
            return Response("ok")
        """,
    )
    transport = httpx.MockTransport(lambda request: httpx.Response(202))
    async with WorkerClient(path, transport=transport) as client:
        await client.get("/")
        module = client.host.current.worker.module  # type: ignore[union-attr]
    assert module.SEEN == [202]  # the mock transport, never the network
