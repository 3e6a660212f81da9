"""``Request``: Cloudflare's Python SDK request over the starlette request edgeworks receives.

>>> request.method == HTTPMethod.POST, request.url
(True, 'https://example.com/items?page=2')
>>> data = await request.json()            # a dict with attribute access
"""

from __future__ import annotations

from http import HTTPMethod
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from workers._body import Body, header_pairs, http_message

if TYPE_CHECKING:
    from starlette.requests import Request as StarletteRequest

__all__ = ["Request"]

MSG_BAD_METHOD = "Invalid HTTP method: {method!r}"


class Request(Body):
    """An incoming (or to-be-sent) request: ``url``, ``method`` (``http.HTTPMethod``),
    ``headers`` (``HTTPMessage``), ``await text()/json()/bytes()/form_data()``.

    ``Request(url, method="POST", headers={...}, body=b"...")`` builds one for
    ``fetch``; ``Request(other, **changes)`` copies another with changes.
    """

    _pairs: list[tuple[str, str]] | None
    _method: HTTPMethod | None

    def __init__(
        self,
        input: Any,
        *,
        method: str | None = None,
        headers: Any = None,
        body: Any = None,
        redirect: str = "follow",
        cf: Any = None,
        fetcher: Any = None,
    ) -> None:
        self.starlette_request: StarletteRequest | None = None
        content: Any = None
        if isinstance(input, Request):
            url, verb, pairs = input.url, str(input.method), list(input._header_pairs())
            content = input._content
            self.starlette_request = input.starlette_request
        elif isinstance(input, str):
            url, verb, pairs = input, "GET", []
        else:
            raise TypeError(
                f"Request() takes a URL string or a Request, not {type(input).__name__}"
            )
        if headers is not None:
            pairs = header_pairs(headers)
        if body is not None:
            from workers._response import encode_body

            content, implied = encode_body(body)
            if implied and not any(k.lower() == "content-type" for k, _ in pairs):
                pairs.append(("content-type", implied))
        super().__init__(content)
        self._url = _normalise(url)
        self._method = _to_method(method or verb)
        self._pairs = pairs
        self.redirect = redirect
        self.cf = cf
        self.fetcher = fetcher
        self.mode = "cors"
        self.referrer = "about:client"

    @classmethod
    def from_starlette(cls, request: StarletteRequest) -> Request:
        """The SDK view of the request a worker receives; the body is read on demand."""
        wrapped = cls.__new__(cls)
        Body.__init__(wrapped, None)
        wrapped.starlette_request = request
        wrapped._url = str(request.url)
        wrapped._method = None
        wrapped._pairs = None
        wrapped.redirect, wrapped.cf, wrapped.fetcher = "follow", None, None
        wrapped.mode, wrapped.referrer = "cors", "about:client"
        return wrapped

    @property
    def url(self) -> str:
        return self._url

    @property
    def method(self) -> HTTPMethod:
        if self._method is None:
            assert self.starlette_request is not None
            self._method = _to_method(self.starlette_request.method)
        return self._method

    @property
    def headers(self) -> Any:
        """An ``http.client.HTTPMessage`` (``request.headers.get("user-agent")``)."""
        return http_message(self._header_pairs())

    def _header_pairs(self) -> list[tuple[str, str]]:
        if self._pairs is None:
            assert self.starlette_request is not None
            self._pairs = header_pairs(self.starlette_request.headers)
        return self._pairs

    @property
    def body(self) -> Any:
        return self._content

    @property
    def js_object(self) -> Request:
        """The request itself: edgeworks has no JS object behind it (``asgi.fetch``
        and ``fetch`` take it wherever Cloudflare code passes ``request.js_object``)."""
        return self

    _js_request = js_object

    def _content_type(self) -> str:
        return str(self.headers.get("content-type", ""))

    async def _read(self) -> bytes:
        if self.starlette_request is not None and self._content is None:
            if self._used:
                raise OSError(self._used_message)
            self._used = True
            return await self.starlette_request.body()
        return await super()._read()

    async def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON (objects with attribute access)."""
        return await self._json(**kwargs)

    def clone(self) -> Request:
        return Request(self)

    def __repr__(self) -> str:
        return f"Request(method={str(self.method)!r}, url={self.url!r})"


def _normalise(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise TypeError(f"Invalid URL: {url!r}")
    return urlunsplit(parts._replace(path=parts.path or "/"))


def _to_method(method: str) -> HTTPMethod:
    try:
        return HTTPMethod(method.upper())
    except ValueError:
        raise TypeError(MSG_BAD_METHOD.format(method=method)) from None
