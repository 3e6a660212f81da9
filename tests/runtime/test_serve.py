"""A real `edgeworks serve` process: serving, pass-through to a real origin, SIGTERM drain."""

from __future__ import annotations

import signal
import socket
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support import Proc, edgeworks, free_port

ORIGIN_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    text = f"origin {scope['method']} {scope['path']}?{scope['query_string'].decode()} {body.decode()}"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"x-origin", b"yes")]})
    await send({"type": "http.response.body", "body": text.encode()})
"""

WORKER = """
import asyncio
import os
from pathlib import Path
from starlette.responses import Response

async def record(path, text):
    await asyncio.sleep(0.5)
    Path(path).write_text(text)

async def handle_request(request, env, ctx):
    path = request.url.path
    if path == "/slow":
        print("slow started", flush=True)
        ctx.wait_until(record(env.MARKER, "wait_until done"))
        await asyncio.sleep(0.8)
        return Response("slow done\\n")
    if path == "/fail":
        ctx.pass_through_on_exception()
        raise RuntimeError("handled by origin")
    if path == "/secret":
        return Response(env.API_KEY)
    if path == "/kv":
        await env.KV.put("k", "stored")
        return Response(await env.KV.get("k"))
    if path == "/boom":
        raise ValueError("secret internals")
    if path == "/spin":
        print("spin started", flush=True)
        while True:
            pass
    if path == "/pid":
        return Response(str(os.getpid()))
    return Response("hello\\n")
"""


@pytest.fixture
def origin(tmp_path: Path) -> str:
    folder = tmp_path / "origin"
    folder.mkdir()
    (folder / "origin_app.py").write_text(textwrap.dedent(ORIGIN_APP))
    port = free_port()
    import sys

    proc = Proc(
        [sys.executable, "-m", "uvicorn", "origin_app:app", "--port", str(port), "--no-access-log"],
        cwd=folder,
    )
    try:
        proc.wait_for(r"Uvicorn running")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


def project(tmp_path: Path, origin: str | None = None) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    origin_line = f'origin = "{origin}"\n' if origin else ""
    (folder / "edgeworks.toml").write_text(
        'name = "app"\nmain = "worker.py"\n'
        + origin_line
        + f'[vars]\nMARKER = "{folder / "marker.txt"}"\n'
        + '[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n'
        + "[limits]\ncpu_ms = 300\nmax_body_bytes = 100000\n"
    )
    (folder / "worker.py").write_text(textwrap.dedent(WORKER))
    (folder / "secrets.env").write_text("API_KEY=from-file\n")
    return folder


def test_serve_serves_forwards_and_drains_on_sigterm(tmp_path: Path, origin: str) -> None:
    folder = project(tmp_path, origin)
    proc = edgeworks("serve", "--port", "0", "--env-file", "secrets.env", cwd=folder)
    try:
        port = int(proc.wait_for(r"Listening on http://127\.0\.0\.1:(\d+)").group(1))
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/").text == "hello\n"
        assert httpx.get(base + "/__edgeworks/health").status_code == 200
        assert httpx.get(base + "/__edgeworks/status").status_code == 404
        assert httpx.get(base + "/secret").text == "from-file"
        assert httpx.get(base + "/kv").text == "stored"
        boom = httpx.get(base + "/boom", headers={"accept": "text/html"})
        assert boom.status_code == 500 and "secret internals" not in boom.text
        forwarded = httpx.post(base + "/fail?x=1", content=b"payload")
        assert forwarded.status_code == 200
        assert forwarded.text == "origin POST /fail?x=1 payload"
        assert forwarded.headers["x-origin"] == "yes"

        # Over the body limit with Expect: 100-continue: 413 at once, no 100 Continue.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(
                b"POST /kv HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            answer = conn.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer
        chunks = (b"x" * 10_000 for _ in range(20))  # chunked, 200 KB: counted as it arrives
        assert httpx.post(base + "/kv", content=chunks).status_code == 413

        # A runaway handler is cut at cpu_ms; a request sent meanwhile is answered right after.
        spin: list[httpx.Response] = []
        spinner = threading.Thread(target=lambda: spin.append(httpx.get(base + "/spin")))
        spinner.start()
        proc.wait_for(r"spin started")
        started = time.monotonic()
        waiting = httpx.get(base + "/")
        waited = time.monotonic() - started
        spinner.join(5)
        assert (spin[0].status_code, spin[0].text) == (503, "Worker exceeded CPU time limit\n")
        assert waiting.text == "hello\n" and waited < 0.3 + 0.5

        # A slow request in flight and a wait_until task, then SIGTERM.
        results: list[httpx.Response] = []
        slow = threading.Thread(target=lambda: results.append(httpx.get(base + "/slow")))
        slow.start()
        proc.wait_for(r"slow started")
        proc.signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        slow.join(5)
    finally:
        proc.stop()
    assert results and (results[0].status_code, results[0].text) == (200, "slow done\n")
    assert (folder / "marker.txt").read_text() == "wait_until done"
    assert "GET /slow 200" in proc.output
    assert "ValueError: secret internals" in proc.output  # the traceback goes to the log
    with pytest.raises(ConnectionRefusedError):  # nobody listens any more
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_serve_config_error_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "edgeworks.toml").write_text('name = "x"\nmian = "worker.py"\n')
    proc = edgeworks("serve", "--port", "0", cwd=tmp_path)
    assert proc.wait(15) == 2
    proc.stop()
    lines = [line for line in proc.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "mian" in lines[0]


def test_serve_worker_load_error_exits_1_naming_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "edgeworks.toml").write_text('name = "x"\nmain = "worker.py"\n')
    (tmp_path / "worker.py").write_text("async def handle_request(request):\n    return (\n")
    proc = edgeworks("serve", "--port", "0", cwd=tmp_path)
    assert proc.wait(15) == 1
    proc.stop()
    assert f"{tmp_path / 'worker.py'}:2: SyntaxError" in proc.output


def test_serve_workers_share_one_socket(tmp_path: Path) -> None:
    folder = project(tmp_path)
    proc = edgeworks("serve", "--port", "0", "--workers", "2", "--kv", "memory", cwd=folder)
    try:
        port = int(proc.wait_for(r"Listening on http://127\.0\.0\.1:(\d+)").group(1))
        base = f"http://127.0.0.1:{port}"
        pids = set()
        deadline = time.monotonic() + 15
        while len(pids) < 2 and time.monotonic() < deadline:
            try:
                pids.add(httpx.get(base + "/pid", headers={"connection": "close"}).text)
            except httpx.TransportError:
                continue  # a worker process is still starting
        assert len(pids) == 2 and str(proc.pid) not in pids
        proc.signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        proc.stop()


def test_cron_lock_lets_one_process_run_crons(tmp_path: Path) -> None:
    from runtime.serve import _CronLock

    path = str(tmp_path / "cron.lock")
    first, second = _CronLock(path), _CronLock(path)
    assert first.acquire() and first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()
    assert _CronLock(None).acquire()


def test_serve_sigterm_right_after_listening_exits_0(tmp_path: Path) -> None:
    folder = project(tmp_path)
    proc = edgeworks("serve", "--port", "0", "--kv", "memory", cwd=folder)
    try:
        proc.wait_for(r"Listening on")
        proc.signal(signal.SIGTERM)  # uvicorn may not have taken over the signals yet
        assert proc.wait(15) == 0
    finally:
        proc.stop()
    assert "Traceback" not in proc.output
