"""The forwarding helper shared by the proxy workers: what the origin is sent."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from workers._proxy import OriginNotConfigured, origin_base, upstream_headers, upstream_url


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


@pytest.mark.parametrize("value", [None, "", "ftp://x", "localhost:9000", "http://"])
def test_origin_base_rejects_missing_or_non_http_values(value: object) -> None:
    with pytest.raises(OriginNotConfigured, match="BLUE_ORIGIN"):
        origin_base(value, "BLUE_ORIGIN")


def test_origin_base_strips_trailing_slash() -> None:
    assert origin_base(" https://o.example:8443/ ", "ORIGIN") == "https://o.example:8443"
