"""Forwarding a request to an origin, correct on the wire: the one forwarder of the
runtime, used by ``ctx.pass_through_on_exception()`` and by the proxy workers that
ship with edgeworks (``workers/blue_green.py``, ``workers/edge_auth.py``).

>>> from runtime.forward import forward
>>> async def handle_request(request, env, ctx):
...     return await forward(request, "http://127.0.0.1:9000", fetch=ctx.fetch)

What the origin gets: the same method, raw path, query and body, and the
request's headers minus

- the hop-by-hop headers (RFC 9110 §7.6.1: ``Connection``, ``Keep-Alive``,
  ``TE``, ``Transfer-Encoding``, ``Upgrade``, ...) and every header the request's
  ``Connection`` header names;
- ``Host`` (the origin's own), ``Expect`` (the server already answered
  ``100 Continue``) and the body's framing, which the HTTP client sets again:
  exactly one of ``Content-Length`` or ``Transfer-Encoding: chunked``, never
  both (RFC 9112 §6.2; both at once is the request-smuggling shape);

plus ``X-Forwarded-For`` / ``-Host`` / ``-Proto``. The origin's response comes
back unread: returned from a handler, the runtime streams it to the client
unchanged, minus its own hop-by-hop headers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from runtime.limits import HOP_BY_HOP_HEADERS

if TYPE_CHECKING:
    import httpx

__all__ = ["connection_tokens", "forward", "upstream_headers", "upstream_url"]

#: Request headers the forwarder sets itself (see the module docstring).
REQUEST_ONLY = frozenset({"host", "content-length", "expect"})
#: Methods whose requests carry no body unless the client framed one.
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})

Fetch = Callable[..., Awaitable["httpx.Response"]]


def connection_tokens(raw: Iterable[tuple[bytes, bytes]]) -> set[str]:
    """The header names listed in ``Connection`` (lower case): hop-by-hop too."""
    tokens: set[str] = set()
    for name, value in raw:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.decode("latin-1").split(","))
    tokens.discard("")
    return tokens


def upstream_headers(
    request: Request, *, drop: Iterable[str] = (), add: Iterable[tuple[str, str]] = ()
) -> list[tuple[bytes, bytes]]:
    """The request's headers as the origin should see them.

    Removes hop-by-hop headers, those ``Connection`` names, ``host``, ``expect``,
    the framing headers and every header named in ``drop`` (case-insensitive,
    all copies: a client cannot smuggle in a header the worker owns), then
    appends ``add`` and the ``X-Forwarded-*`` headers. A ``Content-Length`` is
    passed on only for a request that was not chunked.
    """
    raw = request.headers.raw
    removed = HOP_BY_HOP_HEADERS | connection_tokens(raw) | REQUEST_ONLY
    removed |= {name.lower() for name in drop}
    headers = [(k, v) for k, v in raw if k.decode("latin-1").lower() not in removed]
    length = request.headers.get("content-length")
    if length not in (None, "0") and "transfer-encoding" not in request.headers:
        headers.append((b"content-length", length.encode("latin-1")))
    for name, value in add:
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    client = request.client.host if request.client else None
    if client:
        previous = request.headers.get("x-forwarded-for")
        chain = f"{previous}, {client}" if previous else client
        headers = [(k, v) for k, v in headers if k.lower() != b"x-forwarded-for"]
        headers.append((b"x-forwarded-for", chain.encode("latin-1")))
    if "host" in request.headers and "x-forwarded-host" not in request.headers:
        headers.append((b"x-forwarded-host", request.headers["host"].encode("latin-1")))
    if "x-forwarded-proto" not in request.headers:
        headers.append((b"x-forwarded-proto", request.url.scheme.encode("latin-1")))
    return headers


def upstream_url(request: Request, base: str) -> str:
    """``base`` + the request's raw path and query (percent-encoding kept as sent)."""
    base = base.rstrip("/")
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{base}{path}?{query}" if query else f"{base}{path}"


def _has_body(request: Request) -> bool:
    if "transfer-encoding" in request.headers:
        return True
    length = request.headers.get("content-length")
    if length is not None:
        return length != "0"
    return request.method not in BODYLESS_METHODS


async def forward(
    request: Request,
    base: str,
    *,
    fetch: Fetch | None = None,
    drop: Iterable[str] = (),
    add: Iterable[tuple[str, str]] = (),
    body: bytes | None = None,
) -> httpx.Response:
    """Send ``request`` to the origin at ``base`` (``http(s)://host[:port]``).

    ``fetch``: how to send it (``ctx.fetch`` counts it as a subrequest; default
    ``runtime.fetch``). ``body``: the request body when it was read already (else
    the request's stream is passed on as it arrives). The returned response is
    unread: returned from a handler, the runtime streams it to the client.
    """
    if fetch is None:
        from runtime.context import fetch as runtime_fetch

        fetch = runtime_fetch
    kwargs: dict[str, Any] = {
        "method": request.method,
        "headers": upstream_headers(request, drop=drop, add=add),
        # Unread, to stream through; redirects are the client's to follow, not ours.
        "stream": True,
        "follow_redirects": False,
    }
    if body is not None:
        if body or _has_body(request):
            kwargs["content"] = body
    elif _has_body(request):
        kwargs["content"] = request.stream()
    response: httpx.Response = await fetch(upstream_url(request, base), **kwargs)
    return response
