"""Slow clients on a real ``edgeworks serve`` with ``ulimit -n 1024``: 1,100 sockets that
dribble their request heads must not lock normal clients out. The header deadline
(``[limits] header_timeout_ms``, here 1 s instead of the default 10 s) closes them, so
at least 19 of 20 normal requests succeed."""

from __future__ import annotations

import concurrent.futures
import resource
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support import edgeworks, free_port

SLOW_SOCKETS = 1100
FD_LIMIT = 1024
NORMAL_REQUESTS = 20


def _fd_limit_1024() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def _serve(tmp_path: Path, header_timeout_ms: int) -> tuple[object, int]:
    (tmp_path / "worker.py").write_text(
        "from starlette.responses import Response\n"
        "async def handle_request(request):\n    return Response('ok')\n"
    )
    (tmp_path / "edgeworks.toml").write_text(
        'name = "slow"\nmain = "worker.py"\n[kv]\nstore = "memory"\n'
        f"[limits]\nheader_timeout_ms = {header_timeout_ms}\n"
    )
    port = free_port()
    proc = edgeworks(
        "serve", "--port", str(port), "--no-access-log", cwd=tmp_path, preexec_fn=_fd_limit_1024
    )
    return proc, port


@pytest.fixture
def many_fds() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = SLOW_SOCKETS + 200
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.fail(f"this test needs {needed} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def test_slow_clients_do_not_lock_out_normal_ones(tmp_path: Path, many_fds: None) -> None:
    proc, port = _serve(tmp_path, header_timeout_ms=1000)
    slow: list[socket.socket] = []
    stop = threading.Event()

    def dribble() -> None:
        # One byte per socket every 0.3 s: each byte used to cancel the keep-alive timer.
        while not stop.wait(0.3):
            for sock in list(slow):
                try:
                    sock.send(b"X")
                except OSError:
                    slow.remove(sock)
                    sock.close()

    try:
        proc.wait_for("Listening on")  # type: ignore[attr-defined]
        for _ in range(SLOW_SOCKETS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.setblocking(False)
            sock.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            slow.append(sock)
        dribbler = threading.Thread(target=dribble, daemon=True)
        dribbler.start()

        def normal(_: int) -> bool | str:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/", timeout=15)
            except httpx.HTTPError as exc:
                return repr(exc)
            return (r.status_code == 200 and r.text == "ok") or f"{r.status_code} {r.text}"

        began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(NORMAL_REQUESTS) as pool:
            results = list(pool.map(normal, range(NORMAL_REQUESTS)))
        elapsed = time.monotonic() - began
    finally:
        stop.set()
        for sock in slow:
            sock.close()
        proc.stop()  # type: ignore[attr-defined]
    assert sum(r is True for r in results) >= 19, (results, elapsed, proc.output[-2000:])  # type: ignore[attr-defined]


def _roundtrip(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    reply = b""
    while not reply.endswith(b"\r\n\r\nok"):
        chunk = sock.recv(4096)
        assert chunk, reply
        reply += chunk
    return reply


def test_connection_cap_closes_the_longest_idle_then_answers_503(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(
        "import asyncio\n"
        "from starlette.responses import Response\n"
        "async def handle_request(request):\n"
        "    if request.url.path == '/slow':\n"
        "        await asyncio.sleep(1.5)\n"
        "    return Response('ok')\n"
    )
    (tmp_path / "edgeworks.toml").write_text(
        'name = "cap"\nmain = "worker.py"\n[kv]\nstore = "memory"\n[limits]\nmax_connections = 2\n'
    )
    port = free_port()
    proc = edgeworks("serve", "--port", str(port), "--no-access-log", cwd=tmp_path)
    get = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
    try:
        proc.wait_for("Listening on")
        # Two idle keep-alive connections fill the cap; a third client is still served,
        # and the connection idle the longest is the one closed to make room.
        oldest = socket.create_connection(("127.0.0.1", port), timeout=5)
        newer = socket.create_connection(("127.0.0.1", port), timeout=5)
        for sock in (oldest, newer):
            assert _roundtrip(sock, get).startswith(b"HTTP/1.1 200 ")
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
        assert oldest.recv(4096) == b""  # closed by the server
        assert _roundtrip(newer, get).startswith(b"HTTP/1.1 200 ")
        oldest.close()
        newer.close()
        # Two connections busy with requests: nobody to close, so a third gets 503 at once.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            busy = [
                pool.submit(httpx.get, f"http://127.0.0.1:{port}/slow", timeout=10)
                for _ in range(2)
            ]
            time.sleep(0.5)  # both are inside the handler
            began = time.monotonic()
            third = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            assert third.status_code == 503 and time.monotonic() - began < 1
            assert [f.result().status_code for f in busy] == [200, 200]
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        proc.stop()
