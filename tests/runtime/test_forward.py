"""``runtime.forward``: what the origin is sent, unit by unit, then on the wire: a raw
socket origin behind a real ``edgeworks serve`` sees exactly one framing header and
no hop-by-hop header, for ``pass_through_on_exception`` and for a worker forwarding."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from starlette.requests import Request

from runtime.forward import upstream_headers, upstream_url
from tests.support import edgeworks, free_port


def make_request(
    headers: list[tuple[str, str]],
    *,
    path: str = "/a%20b/c",
    query: str = "x=1&y=%2F",
    method: str = "GET",
) -> Request:
    scope = {
        "type": "http",
        "method": method,
        "scheme": "http",
        "path": path.replace("%20", " "),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("203.0.113.9", 5555),
        "server": ("edge", 80),
    }
    return Request(scope)


def names(headers: list[tuple[bytes, bytes]]) -> list[str]:
    return [k.decode() for k, _ in headers]


def test_upstream_url_keeps_raw_path_and_query() -> None:
    request = make_request([])
    assert upstream_url(request, "http://origin:9000") == "http://origin:9000/a%20b/c?x=1&y=%2F"


def test_upstream_url_without_query_has_no_question_mark() -> None:
    assert upstream_url(make_request([], query=""), "http://o") == "http://o/a%20b/c"


def test_upstream_headers_drop_hop_by_hop_and_host() -> None:
    request = make_request(
        [
            ("Host", "edge.example"),
            ("Connection", "keep-alive, X-Secret-Hop"),
            ("X-Secret-Hop", "1"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "websocket"),
            ("Expect", "100-continue"),
            ("Accept", "text/plain"),
        ]
    )
    sent = names(upstream_headers(request))
    hops = ("host", "connection", "x-secret-hop", "keep-alive", "transfer-encoding", "upgrade")
    for hop in (*hops, "expect"):
        assert hop not in sent
    assert "accept" in sent


def test_upstream_headers_drop_every_copy_of_owned_headers_in_any_case() -> None:
    request = make_request([("X-Edgeworks-User", "admin"), ("x-edgeworks-user", "root")])
    headers = upstream_headers(
        request, drop=["X-EDGEWORKS-USER"], add=[("X-Edgeworks-User", "bob")]
    )
    assert [v for k, v in headers if k == b"x-edgeworks-user"] == [b"bob"]


def test_upstream_headers_add_forwarded_chain() -> None:
    request = make_request([("Host", "edge.example"), ("X-Forwarded-For", "198.51.100.1")])
    headers = dict(upstream_headers(request))
    assert headers[b"x-forwarded-for"] == b"198.51.100.1, 203.0.113.9"
    assert headers[b"x-forwarded-host"] == b"edge.example"
    assert headers[b"x-forwarded-proto"] == b"http"


def test_upstream_headers_keep_content_length_of_a_body() -> None:
    request = make_request([("Content-Length", "5")], method="POST")
    assert dict(upstream_headers(request))[b"content-length"] == b"5"


def test_upstream_headers_never_pass_content_length_of_a_chunked_request() -> None:
    request = make_request(
        [("Transfer-Encoding", "chunked"), ("Content-Length", "5")], method="POST"
    )
    sent = names(upstream_headers(request))
    assert "content-length" not in sent and "transfer-encoding" not in sent


# --- on the wire ------------------------------------------------------------------

WORKER = """
from runtime.forward import forward

async def handle_request(request, env, ctx):
    if request.url.path.startswith("/worker"):
        return await forward(request, env.ORIGIN, fetch=ctx.fetch)
    ctx.pass_through_on_exception()
    raise RuntimeError("the origin answers this one")
"""


class RawOrigin:
    """A TCP origin that records the exact bytes of each request it gets."""

    def __init__(self) -> None:
        self.requests: list[tuple[bytes, bytes]] = []  # (head, body as it came)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            while not body.endswith(b"0\r\n\r\n"):
                body += conn.recv(65536)
        else:
            length = next(
                (
                    int(h.split(b":")[1])
                    for h in lower.split(b"\r\n")
                    if h.startswith(b"content-length:")
                ),
                0,
            )
            while len(body) < length:
                body += conn.recv(65536)
        self.requests.append((head, body))
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close, X-Origin-Hop\r\n"
            b"X-Origin-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-Origin: yes\r\n\r\norigin"
        )

    def close(self) -> None:
        self.sock.close()


def _header_names(head: bytes) -> list[str]:
    return [line.split(b":")[0].decode().lower() for line in head.split(b"\r\n")[1:]]


@pytest.mark.parametrize("path", ["/passthrough", "/worker"])
def test_forward_on_the_wire_one_framing_header_no_hop_by_hop(tmp_path: Path, path: str) -> None:
    origin = RawOrigin()
    url = f"http://127.0.0.1:{origin.port}"
    (tmp_path / "worker.py").write_text(WORKER)
    (tmp_path / "edgeworks.toml").write_text(
        f'name = "fw"\nmain = "worker.py"\norigin = "{url}"\n[vars]\nORIGIN = "{url}"\n'
        '[kv]\nstore = "memory"\n'
    )
    port = free_port()
    server = edgeworks("serve", "--port", str(port), cwd=tmp_path)
    try:
        server.wait_for("Listening on")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                f"POST {path}?q=1 HTTP/1.1\r\nHost: edge.example\r\n".encode()
                + b"Transfer-Encoding: chunked\r\nConnection: keep-alive, X-Client-Hop\r\n"
                b"X-Client-Hop: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
                b"Proxy-Connection: keep-alive\r\nX-Kept: 1\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
            reply = b""
            while not reply.endswith(b"origin"):
                chunk = sock.recv(65536)
                assert chunk, reply
                reply += chunk
    finally:
        server.stop()
        origin.close()
    ((head, body),) = origin.requests
    sent = _header_names(head)
    framing = [n for n in sent if n in ("content-length", "transfer-encoding")]
    assert len(framing) == 1, head
    for hop in ("keep-alive", "te", "proxy-connection", "x-client-hop", "upgrade"):
        assert hop not in sent, head
    # The only Connection header is the HTTP client's own for its hop to the origin.
    assert [line for line in head.lower().split(b"\r\n") if line.startswith(b"connection:")] in (
        [],
        [b"connection: keep-alive"],
    ), head
    assert "x-kept" in sent and "x-forwarded-for" in sent
    assert head.startswith(f"POST {path}?q=1 HTTP/1.1".encode())
    decoded = body if framing == ["content-length"] else _dechunk(body)
    assert decoded == b"hello world"
    # And back: the origin's hop-by-hop headers stop at edgeworks too.
    reply_names = _header_names(reply.partition(b"\r\n\r\n")[0])
    assert "x-origin" in reply_names
    assert "x-origin-hop" not in reply_names and "keep-alive" not in reply_names


def _dechunk(body: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out
        out += rest[:size]
        body = rest[size + 2 :]
