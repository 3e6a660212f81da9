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

        def normal(_: int) -> bool:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/", timeout=15)
            except httpx.HTTPError:
                return False
            return r.status_code == 200 and r.text == "ok"

        began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(NORMAL_REQUESTS) as pool:
            results = list(pool.map(normal, range(NORMAL_REQUESTS)))
        elapsed = time.monotonic() - began
    finally:
        stop.set()
        for sock in slow:
            sock.close()
        proc.stop()  # type: ignore[attr-defined]
    assert sum(results) >= 19, (results, elapsed)
