"""Outbound HTTP: ``fetch(url_or_request, **kwargs)`` on one shared ``httpx.AsyncClient``.

httpx is imported on first use, so a worker that never fetches never pays for it.
A :class:`Fetcher` owns the client; the host has one (tests give it a mock
transport, never the network) and hands it to each request's ``ctx``
(``runtime.context``), which counts subrequests; ``runtime.fetch`` lives there.

``fetch`` reads the body by default (``r.text`` works at once, like Workers'
``await r.text()``); ``stream=True`` returns an unread response to stream
through (``return await fetch(url, stream=True)`` in a handler streams the
origin's bytes to the client unchanged).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from starlette.requests import Request

__all__ = ["Fetcher"]


class Fetcher:
    """One shared ``httpx.AsyncClient`` (created lazily) with an optional transport.

    >>> fetcher = Fetcher(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    >>> r = await fetcher.fetch("https://example.com/")
    """

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            from http.cookiejar import CookieJar, DefaultCookiePolicy

            import httpx

            # No cookie jar: the client is shared by every request of the process, so a
            # cookie one user's origin response sets must never go out with another's.
            no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
            self._client = httpx.AsyncClient(
                transport=self.transport, follow_redirects=True, timeout=None, cookies=no_cookies
            )
        return self._client

    async def fetch(
        self,
        url_or_request: str | httpx.URL | httpx.Request,
        *,
        method: str = "GET",
        stream: bool = False,
        follow_redirects: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request; ``kwargs`` are those of ``httpx.AsyncClient.build_request``."""
        import httpx

        client = self.client
        if isinstance(url_or_request, httpx.Request):
            request = url_or_request
        else:
            request = client.build_request(method, url_or_request, **kwargs)
        response = await client.send(request, stream=True, follow_redirects=follow_redirects)
        if not stream:
            try:
                await response.aread()
            finally:
                await response.aclose()
        return response

    async def forward(
        self, request: Request, origin: str, body: bytes | None = None
    ) -> httpx.Response:
        """Send ``request`` to ``origin`` (same method, path, query, headers, body), unread."""
        import httpx

        target = httpx.URL(origin.rstrip("/") + request.url.path)
        if request.url.query:
            target = target.copy_with(query=request.url.query.encode("latin-1"))
        headers = [(k, v) for k, v in request.headers.items() if k.lower() != "host"]
        content = body if body is not None else await request.body()
        outbound = self.client.build_request(
            request.method, target, headers=headers, content=content
        )
        return await self.client.send(outbound, stream=True, follow_redirects=False)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
