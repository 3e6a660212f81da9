"""A worker returning a response the server cannot send (a header value with CR/LF, a
status outside 100-599) gets a 500 with a log line saying why, on a connection that
stays usable: on a real ``edgeworks serve`` over one raw keep-alive socket, and the
dev error page naming the header or status."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import httpx
import pytest

from runtime.app import create_app
from runtime.host import WorkerHost
from runtime.loader import load_worker
from tests.support import edgeworks, free_port

WORKER = """
import httpx
from starlette.responses import Response, StreamingResponse

async def chunks():
    yield b"never sent"

async def handle_request(request):
    path = request.url.path
    if path == "/crlf":
        return Response("x", headers={"x-note": "a\\r\\nset-cookie: stolen=1"})
    if path == "/badname":
        return Response("x", headers={"bad name": "v"})
    if path == "/status999":
        return Response("x", status_code=999)
    if path == "/status42":
        return StreamingResponse(chunks(), status_code=42)
    if path == "/httpx-crlf":
        return httpx.Response(200, headers=[(b"x-a", b"1\\n2")], content=b"x")
    return Response("ok\\n")
"""


def _exchange(sock: socket.socket, path: str) -> bytes:
    """One keep-alive request on ``sock``; the whole response (status line to body)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {path}: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_serve_answers_500_for_invalid_responses_and_keeps_the_connection(
    tmp_path: Path,
) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    (tmp_path / "edgeworks.toml").write_text(
        'name = "bad"\nmain = "worker.py"\n[kv]\nstore = "memory"\n'
    )
    port = free_port()
    server = edgeworks("serve", "--port", str(port), cwd=tmp_path)
    try:
        server.wait_for("Listening on")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            for path in ("/crlf", "/badname", "/status999", "/status42", "/httpx-crlf"):
                reply = _exchange(sock, path)
                assert reply.startswith(b"HTTP/1.1 500 "), reply
                assert b"stolen" not in reply and b"set-cookie" not in reply.lower()
                assert reply.endswith(b"Internal Server Error\n")
                assert _exchange(sock, "/ok").startswith(b"HTTP/1.1 200 ")  # same socket
        server.wait_for(r"GET /httpx-crlf: invalid response")
    finally:
        server.stop()
    out = server.output
    assert "GET /crlf: invalid response: handle_request returned header 'x-note'" in out
    assert (
        "GET /badname: invalid response: handle_request returned a header named b'bad name'" in out
    )
    assert "GET /status999: invalid response: handle_request returned status 999" in out
    assert "GET /status42: invalid response: handle_request returned status 42" in out


@pytest.mark.parametrize(
    ("path", "named"),
    [("/crlf", "header &#x27;x-note&#x27;"), ("/status999", "status 999")],
)
async def test_dev_error_page_names_the_invalid_header_or_status(
    tmp_path: Path, path: str, named: str
) -> None:
    file = tmp_path / "worker.py"
    file.write_text(textwrap.dedent(WORKER))
    app = create_app(WorkerHost(load_worker(file)), mode="dev", access_log=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get(path, headers={"accept": "text/html"})
    assert r.status_code == 500
    assert "InvalidResponse" in r.text and named in r.text
