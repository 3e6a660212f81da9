"""``js``/``pyodide`` stand-ins (Cloudflare projects only), the shadowed-``workers`` check,
and that an edgeworks.toml project imports none of the SDK at start."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from runtime import _standins
from runtime.errors import WorkerLoadError
from runtime.loader import load_worker
from runtime.testing import WorkerClient
from tests.support import EDGEWORKS, REPO_ROOT, Proc

JS_WORKER = """\
from js import Date, Headers, JSON, Object, Response, URL, console
from pyodide.ffi import create_proxy, to_js


async def on_fetch(request, env):
    url = URL.new(request.url)
    console.log("path is", url.pathname)
    if url.pathname == "/png":
        return Response.new(to_js(b"\\x89PNG").buffer, headers=Headers.new({"content-type": "image/png"}.items()))
    proxy = create_proxy(lambda: "called")
    body = JSON.stringify(Object.fromEntries([("q", url.searchParams.get("q")), ("p", proxy())]))
    proxy.destroy()
    assert Date.now() > 1_700_000_000_000
    return Response.new(body, headers=Headers.new({"content-type": "application/json"}.items()))
"""


async def test_js_and_pyodide_stand_ins(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "entry.py").write_text(JS_WORKER)
    before = _standins.installed()  # another test in this process may have loaded one
    with caplog.at_level(logging.INFO, logger="edgeworks.worker"):
        async with WorkerClient(tmp_path / "entry.py") as client:
            data = await client.get("/data?q=1")
            png = await client.get("/png")
    assert data.json() == {"q": "1", "p": "called"}
    assert data.headers["content-type"] == "application/json"
    assert png.content == b"\x89PNG" and png.headers["content-type"] == "image/png"
    assert "path is /data" in caplog.text
    if not before:
        assert not _standins.installed() and "js" not in sys.modules  # gone with the client


def test_js_api_that_does_not_exist_here_is_a_one_line_load_error(tmp_path: Path) -> None:
    worker = tmp_path / "entry.py"
    worker.write_text("from js import HTMLRewriter\n\nasync def on_fetch(request):\n    pass\n")
    try:
        with pytest.raises(WorkerLoadError) as info:
            load_worker(worker)
    finally:
        _standins.uninstall()
    message = str(info.value)
    assert message.startswith(f"{worker}:1: ImportError: js.HTMLRewriter is a JavaScript API")
    assert "not available in edgeworks" in message and "\n" not in message


async def test_stand_ins_are_invisible_to_edgeworks_projects(tmp_path: Path) -> None:
    _standins.uninstall()  # a Cloudflare project loaded earlier in this test process
    (tmp_path / "edgeworks.toml").write_text('name = "native"\nmain = "worker.py"\n')
    (tmp_path / "worker.py").write_text(
        "import importlib\nfrom starlette.responses import PlainTextResponse\n"
        "async def handle_request(request):\n"
        "    try:\n        importlib.import_module('pyodide')\n"
        "    except ImportError:\n        return PlainTextResponse('no pyodide')\n"
        "    return PlainTextResponse('pyodide')\n"
    )
    async with WorkerClient(config=tmp_path / "edgeworks.toml") as client:
        assert (await client.get("/")).text == "no pyodide"


def test_shadowed_workers_package_stops_start_with_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "site" / "workers"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("# Cloudflare's workers-runtime-sdk\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "edgeworks.toml").write_text('name = "x"\nmain = "worker.py"\n')
    (project / "worker.py").write_text("async def handle_request(request):\n    pass\n")
    for command in ("serve", "dev"):
        proc = Proc(
            [*EDGEWORKS, command, "--port", "0"],
            cwd=project,
            env={"PYTHONPATH": f"{tmp_path / 'site'}:{REPO_ROOT}"},
        )
        try:
            assert proc.wait(30) == 1
        finally:
            proc.stop()
        lines = proc.output.strip().splitlines()
        assert len(lines) == 1, proc.output
        assert lines[0].startswith(f"error: the 'workers' module is {fake / '__init__.py'}")
        assert "pip uninstall workers-runtime-sdk" in lines[0]


def test_serve_start_imports_no_sdk_module_for_an_edgeworks_project(tmp_path: Path) -> None:
    (tmp_path / "edgeworks.toml").write_text('name = "hello"\nmain = "worker.py"\n')
    (tmp_path / "worker.py").write_text(
        "from starlette.responses import PlainTextResponse\n"
        "async def handle_request(request):\n    return PlainTextResponse('hi')\n"
    )
    script = (
        "import json, sys\n"
        "import runtime, workers\n"  # importing the package itself loads none of the SDK
        "from runtime.serve import ServeOptions, build_app, load_serve_config\n"
        "options = ServeOptions(overrides={'kv.store': 'memory://'})\n"
        "build_app(load_serve_config(options), options)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert "runtime.app" in modules  # the app was built
    sdk = [m for m in modules if m.startswith(("workers.", "json5", "runtime._entrypoints"))]
    assert sdk == [], sdk
