"""``Response`` and ``FetchResponse``: Cloudflare's Python SDK shapes over starlette and httpx.

>>> Response("Hello world!")                 # 200, text/plain;charset=UTF-8
>>> Response.json({"ok": True}, status=201)  # application/json
>>> Response.redirect("https://example.com/", 301)

The runtime sends a ``Response`` through ``__edgeworks_response__`` (a starlette
response), so a worker may return it, a starlette response or an httpx one.
"""

from __future__ import annotations

import functools
import json as _json
from collections.abc import AsyncIterable, Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from workers._body import Body, header_pairs, http_message

if TYPE_CHECKING:
    import httpx
    from starlette.responses import Response as StarletteResponse

__all__ = ["FetchResponse", "Response", "encode_body"]

TEXT_CONTENT_TYPE = "text/plain;charset=UTF-8"  # what a str body gets, as on Workers
JSON_CONTENT_TYPE = "application/json"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MSG_UNSUPPORTED_BODY = "Unsupported type in Response: {type}"
MSG_OPTIONS_WITH_RESPONSE = "Expected no options when constructing Response from a js.Response"
MSG_NO_WEBSOCKETS = "Response(web_socket=...): WebSockets are not supported by edgeworks (see docs/python-workers.md)"


class _ClassOrInstance:
    """``Response.json(data)`` builds a response; ``response.json()`` parses one."""

    def __init__(self, on_class: Callable[..., Any], on_instance: Callable[..., Any]) -> None:
        self.on_class = on_class
        self.on_instance = on_instance

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return functools.partial(self.on_class, owner)
        return functools.partial(self.on_instance, obj)


class Response(Body):
    """An HTTP response as in Cloudflare's ``workers`` module.

    ``body`` is ``str`` (``text/plain;charset=UTF-8``), ``bytes`` (also
    ``bytearray``/``memoryview``), a ``FormData`` (multipart), a ``Blob``, an
    async iterable of bytes (streamed) or ``None``; another ``Response``
    copies it. ``headers`` is a dict or a list of ``(name, value)`` tuples.
    """

    _used_message = "Response body is already used"
    status: int
    status_text: str
    _pairs: list[tuple[str, str]]

    def __init__(
        self,
        body: Any = None,
        status: int | None = None,
        status_text: str = "",
        headers: Any = None,
        web_socket: Any = None,
    ) -> None:
        if web_socket is not None:
            error = NotImplementedError(MSG_NO_WEBSOCKETS)
            error.one_line = True  # type: ignore[attr-defined]  # says it all: no traceback
            raise error
        if isinstance(body, Response):
            if status is not None or status_text or headers is not None:
                raise ValueError(MSG_OPTIONS_WITH_RESPONSE)
            super().__init__(body._content)
            self.status, self.status_text = body.status, body.status_text
            self._pairs = list(body._pairs)
            return
        pairs = header_pairs(headers)
        content, content_type = encode_body(body)
        if content_type and not any(k.lower() == "content-type" for k, _ in pairs):
            pairs.append(("content-type", content_type))
        super().__init__(content)
        self.status = 200 if status is None else int(status)
        self.status_text = status_text or _reason(self.status)
        self._pairs = pairs

    # --- what the SDK exposes ---

    @property
    def headers(self) -> Any:
        """An ``http.client.HTTPMessage`` (``response.headers["content-type"]``)."""
        return http_message(self._pairs)

    @property
    def body(self) -> Any:
        return self._content

    @property
    def ok(self) -> bool:
        return 200 <= int(self.status) <= 299

    @property
    def js_object(self) -> Response:
        """The response itself: edgeworks has no JS object behind it."""
        return self

    js_response = js_object

    def _content_type(self) -> str:
        return str(self.headers.get("content-type", ""))

    def clone(self) -> Response:
        if isinstance(self._content, AsyncIterable):
            raise OSError("a streamed body cannot be cloned")
        return Response(self)

    def replace_body(self, body: Any) -> Response:
        """A copy with ``body`` (status and headers kept)."""
        copy = Response(body, self.status, self.status_text, self._pairs)
        return copy

    def raise_for_status(self) -> None:
        if self.status >= 400:
            raise OSError(f"{self.status} {self.status_text}")

    async def _parse_json(self, **kwargs: Any) -> Any:
        return await self._json(**kwargs)

    json = _ClassOrInstance(lambda cls, *a, **kw: _from_json(cls, *a, **kw), _parse_json)

    @classmethod
    def from_json(
        cls, data: Any, status: int = 200, status_text: str = "", headers: Any = None
    ) -> Response:
        """A JSON response (``json.dumps`` defaults); content-type unless given."""
        return _from_json(cls, data, status, status_text, headers)

    @classmethod
    def redirect(cls, url: str, status: int = 302) -> Response:
        """A redirect to the absolute ``url`` (``ValueError`` for a bad URL or status)."""
        parts = urlsplit(str(url))
        if not parts.scheme or not parts.netloc:
            raise ValueError(f"Invalid URL: {url}")
        if status not in REDIRECT_STATUSES:
            raise ValueError(f"Invalid status code: {status}")
        return cls(None, status, headers={"location": str(url)})

    def __repr__(self) -> str:
        kind = self.headers.get("content-type")
        return (
            f"{type(self).__name__}(status={self.status}, status_text={self.status_text!r}, "
            f"content_type={kind!r})"
        )

    def __edgeworks_response__(self) -> StarletteResponse:
        """The starlette response the runtime sends."""
        from starlette.responses import Response as Plain
        from starlette.responses import StreamingResponse

        content = self._content
        response: StarletteResponse
        if content is None or isinstance(content, bytes):
            response = Plain(content or b"", status_code=self.status)
            if (content is None and self.status in (204, 304)) or self.status < 200:
                response.raw_headers = []
        else:
            response = StreamingResponse(content, status_code=self.status)
            response.raw_headers = []
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self._pairs]
        names = {k for k, _ in raw}
        response.raw_headers = [h for h in response.raw_headers if h[0] not in names] + raw
        return response


class FetchResponse(Response):
    """What ``workers.fetch`` returns: a ``Response`` over an ``httpx.Response``."""

    def __init__(self, response: httpx.Response) -> None:
        content = response.content if response.is_stream_consumed else response.aiter_bytes()
        super().__init__(content, response.status_code, response.reason_phrase)
        self._pairs = [(k, v) for k, v in response.headers.multi_items()]
        self.url = str(response.url)
        self.redirected = bool(response.history)
        self.type = "basic"
        self.httpx_response = response


def _from_json(
    cls: type[Response], data: Any, status: int = 200, status_text: str = "", headers: Any = None
) -> Response:
    pairs = header_pairs(headers)
    if not any(k.lower() == "content-type" for k, _ in pairs):
        pairs.append(("content-type", JSON_CONTENT_TYPE))
    return cls(_json.dumps(data).encode(), status, status_text, pairs)


def encode_body(body: Any) -> tuple[bytes | AsyncIterable[bytes] | None, str | None]:
    """Body bytes (or a stream) and the content type the body implies."""
    from workers._formdata import Blob, FormData

    if body is None:
        return None, None
    if isinstance(body, str):
        return body.encode("utf-8"), TEXT_CONTENT_TYPE
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body), None
    if isinstance(body, FormData):
        data, content_type = body.encode_multipart()
        return data, content_type
    if isinstance(body, Blob):
        return body.data, body.content_type or None
    buffer = getattr(body, "buffer", None)  # pyodide.ffi.to_js(bytes) keeps the bytes there
    if isinstance(buffer, bytes | bytearray | memoryview):
        return bytes(buffer), None
    if isinstance(body, AsyncIterable):
        return body, None
    raise TypeError(MSG_UNSUPPORTED_BODY.format(type=type(body).__name__))


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
