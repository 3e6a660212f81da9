"""``workers.fetch``/``js.fetch`` through the runtime's fetcher (mock transport, subrequest
limit), ``wait_until``, ``pyodide.ffi.run_sync`` and pywrangler's ``python_modules``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from runtime.host import RuntimeLimits
from runtime.testing import WorkerClient

WORKER = """\
from pyodide.ffi import run_sync
from workers import Response, WorkerEntrypoint, fetch, wait_until
import js
import vendored


async def later(env):
    await env.KV.put("later", "done")


def blocking_lookup():
    import asyncio
    return run_sync(asyncio.sleep(0, "from run_sync"))


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        path = request.url.split("/", 3)[3]
        if path == "post":
            r = await fetch(
                "https://api.example.com/items", method="POST", headers={"x-a": "1"}, body="hi"
            )
            data = await r.json()
            return Response(f"{r.status} {r.ok} {data.echo} {r.headers['content-type']}")
        if path == "js":
            r = await js.fetch("https://api.example.com/js", {"method": "PUT"})
            return Response(await r.text())
        if path == "many":
            for _ in range(3):
                await fetch("https://api.example.com/n")
            return Response("unreachable")
        if path == "later":
            wait_until(later(self.env))
            return Response("sent")
        return Response(blocking_lookup() + " " + vendored.NAME)
"""


def _answer(request: httpx.Request) -> httpx.Response:
    body = {
        "echo": request.content.decode() or request.method,
        "method": request.method,
        "x-a": request.headers.get("x-a"),
    }
    return httpx.Response(201, json=body)


async def test_fetch_wait_until_run_sync_and_python_modules(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text(WORKER)
    (tmp_path / "python_modules").mkdir()
    (tmp_path / "python_modules" / "vendored.py").write_text("NAME = 'vendored'\n")
    (tmp_path / "wrangler.toml").write_text(
        'name = "f"\nmain = "src/entry.py"\n[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n'
    )
    async with WorkerClient(
        config=tmp_path / "wrangler.toml",
        transport=httpx.MockTransport(_answer),
        limits=RuntimeLimits(subrequests=2),
    ) as client:
        assert (await client.get("/post")).text == "201 True hi application/json"
        assert json.loads((await client.get("/js")).text)["method"] == "PUT"
        too_many = await client.get("/many")
        assert too_many.status_code == 500 and "Too many subrequests" in too_many.text
        assert (await client.get("/later")).text == "sent"
        assert await client.env.KV.get("later") == "done"
        assert (await client.get("/")).text == "from run_sync vendored"
