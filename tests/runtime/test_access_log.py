"""The access log: fields escaped nginx-style, client address and response size on
each line, written in batches, and no line lost when ``serve`` gets SIGTERM."""

from __future__ import annotations

import re
import signal
import socket
from pathlib import Path

import pytest

from runtime.access_log import escape_field, format_line
from tests.support import edgeworks, free_port

WORKER = """
from starlette.responses import Response

async def handle_request(request):
    return Response("x" * int(request.query_params.get("n", "3")))
"""


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        (b"/plain/path-1.css", "/plain/path-1.css"),
        (b"/a\nforged 200", "/a\\x0aforged\\x20200"),
        (b"/\x1b[31mred", "/\\x1b[31mred"),
        (b'/q"uote\\back', "/q\\x22uote\\x5cback"),
        ("/café\u202e".encode(), "/caf\\xc3\\xa9\\xe2\\x80\\xae"),
        ("/surrogate\udcff", "/surrogate\\xff"),
        (b"", "-"),
        (None, "-"),
    ],
)
def test_escape_field_leaves_only_printable_ascii(raw: bytes | str | None, logged: str) -> None:
    assert escape_field(raw) == logged


def test_format_line_fields() -> None:
    line = format_line(("::1", "GET", b"/x\r\n", 404, 9, 0.04))
    assert line == "::1 GET /x\\x0d\\x0a 404 9 0.0ms"
    assert format_line((None, "GET", "/", 200, 0, 1.25)) == "- GET / 200 0 1.2ms"


def test_serve_logs_escaped_lines_and_loses_none_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    (tmp_path / "edgeworks.toml").write_text(
        'name = "log"\nmain = "worker.py"\n[kv]\nstore = "memory"\n'
    )
    port = free_port()
    server = edgeworks("serve", "--port", str(port), cwd=tmp_path)
    requests = 300
    try:
        server.wait_for("Listening on")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            hostile = b'GET /a%0aforged%201"\\?n=5 HTTP/1.1\r\nHost: t\r\n\r\n'
            plain = b"GET /n?n=2 HTTP/1.1\r\nHost: t\r\n\r\n"
            sock.sendall(hostile + plain * (requests - 1))
            received = b""
            while received.count(b"HTTP/1.1 200 ") < requests:
                chunk = sock.recv(65536)
                assert chunk, received[-200:]
                received += chunk
        # Stop at once: the last lines are still in the buffer, the shutdown writes them.
        server.signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
    finally:
        server.stop()
    lines = [line for line in server.output.splitlines() if re.search(r" \d+\.\dms$", line)]
    assert lines[0] == lines[0].strip() and lines[0].startswith("127.0.0.1 GET ")
    assert lines[0].split()[2:5] == ["/a%0aforged%201\\x22\\x5c", "200", "5"]
    assert len(lines) == requests
    assert all(line.split()[:5] == ["127.0.0.1", "GET", "/n", "200", "2"] for line in lines[1:])
