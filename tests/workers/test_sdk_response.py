"""workers.Response / Request / FormData / Blob: Cloudflare's Python SDK shapes."""

from __future__ import annotations

from http import HTTPMethod

import pytest
from starlette.requests import Request as StarletteRequest

from workers import Blob, File, FormData, Request, Response


async def test_response_str_body_gets_workers_text_content_type() -> None:
    response = Response("Hello world!")
    assert response.status == 200 and response.status_text == "OK" and response.ok
    assert response.headers["content-type"] == "text/plain;charset=UTF-8"
    assert await response.text() == "Hello world!"
    with pytest.raises(OSError, match="Response body is already used"):
        await response.text()
    assert repr(response) == (
        "Response(status=200, status_text='OK', content_type='text/plain;charset=UTF-8')"
    )


async def test_response_bytes_none_and_headers_forms() -> None:
    assert Response(b"\x00").headers.get("content-type") is None
    assert Response(None, status=204).body is None
    pairs = Response("x", headers=[("x-a", "1"), ("X-A", "2"), ("content-type", "text/csv")])
    assert pairs.headers["x-a"] == "1, 2" and pairs.headers["content-type"] == "text/csv"
    with pytest.raises(TypeError, match=r"^Received unexpected type for headers argument$"):
        Response("x", headers=42)
    with pytest.raises(TypeError, match=r"^Unsupported type in Response: set$"):
        Response({1})
    copy = Response(Response("a", status=201))
    assert copy.status == 201 and await copy.text() == "a"
    with pytest.raises(ValueError, match="Expected no options when constructing Response"):
        Response(Response("a"), status=200)


async def test_response_json_and_redirect() -> None:
    response = Response.json({"obj": {"field": 123}}, status=201)
    assert response.status == 201 and response.headers["content-type"] == "application/json"
    assert await response.bytes() == b'{"obj": {"field": 123}}'
    kept = Response.json([1], headers={"content-type": "application/vnd.api+json"})
    assert kept.headers["content-type"] == "application/vnd.api+json"
    parsed = await Response.json({"a": {"b": 1}}).json()
    assert parsed == {"a": {"b": 1}} and parsed.a.b == 1
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        Response.json({1})
    moved = Response.redirect("https://example.com/new", 301)
    assert moved.status == 301 and moved.headers["location"] == "https://example.com/new"
    with pytest.raises(ValueError):
        Response.redirect("/relative")
    with pytest.raises(ValueError):
        Response.redirect("https://example.com/", 200)


async def test_response_becomes_the_starlette_response_the_runtime_sends() -> None:
    sent = Response("hi", status=418, headers={"x-a": "1"}).__edgeworks_response__()
    assert sent.status_code == 418 and sent.body == b"hi"
    assert (b"content-type", b"text/plain;charset=UTF-8") in sent.raw_headers
    assert (b"x-a", b"1") in sent.raw_headers and (b"content-length", b"2") in sent.raw_headers


def _starlette(
    method: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> StarletteRequest:
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": method,
        "scheme": "https",
        "server": ("test.com", 443),
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"q=1",
        "headers": [(b"host", b"test.com"), *headers],
    }
    return StarletteRequest(scope, receive)


async def test_request_wraps_the_incoming_request() -> None:
    inner = _starlette(
        "POST",
        "/items",
        b'{"name": "Ada", "tags": {"a": 1}}',
        [(b"content-type", b"application/json"), (b"accept", b"a"), (b"accept", b"b")],
    )
    request = Request.from_starlette(inner)
    assert request.url == "https://test.com/items?q=1"
    assert request.method is HTTPMethod.POST and request.method == "POST"
    assert request.headers["accept"] == "a, b"
    data = await request.json()
    assert data == {"name": "Ada", "tags": {"a": 1}} and data.name == "Ada" and data.tags.a == 1
    with pytest.raises(OSError, match="Body already used"):
        await request.text()
    assert request.js_object is request
    assert repr(request) == "Request(method='POST', url='https://test.com/items?q=1')"


async def test_request_built_for_fetch() -> None:
    request = Request("https://test.com", method="put", headers={"x-a": "1"}, body="hi")
    assert request.url == "https://test.com/" and request.method is HTTPMethod.PUT
    assert request.headers["content-type"] == "text/plain;charset=UTF-8"
    assert await request.bytes() == b"hi"
    with pytest.raises(TypeError, match="Invalid HTTP method"):
        Request("https://test.com/", method="FETCH")


async def test_form_data_blob_and_file() -> None:
    form = FormData({"name": "Ada"})
    form.append("name", "Grace")
    form.append("file", Blob([b"%PDF"], content_type="application/pdf"), filename="a.pdf")
    assert form["name"] == "Ada" and form.get_all("name") == ["Ada", "Grace"]
    upload = form["file"]
    assert isinstance(upload, File) and upload.name == "a.pdf" and upload.size == 4
    response = Response(form)
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    parsed = await Response(
        await response.bytes(), headers={"content-type": content_type}
    ).form_data()
    assert parsed.get_all("name") == ["Ada", "Grace"]
    assert isinstance(parsed["file"], File) and await parsed["file"].bytes() == b"%PDF"
    urlencoded = _starlette(
        "POST", "/", b"a=1&b=two+words", [(b"content-type", b"application/x-www-form-urlencoded")]
    )
    fields = await Request.from_starlette(urlencoded).form_data()
    assert fields["a"] == "1" and fields["b"] == "two words"
    blob = Blob(["ab", b"cd"], content_type="text/plain")
    assert blob.size == 4 and await blob.text() == "abcd" and await blob.slice(1, 3).text() == "bc"
