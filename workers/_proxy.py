"""Forwarding a request to an origin, shared by the blue-green and edge-auth workers.

The request goes out through ``ctx.fetch`` (the runtime's shared HTTP client and
subrequest limit): same method, path, query, headers (minus hop-by-hop ones) and
body (passed on as an async stream; the runtime has usually read it already to
enforce its body limit). The origin's ``httpx.Response`` comes back
unread; the runtime streams its body to the client unchanged (``aiter_raw``:
``Content-Encoding`` and ``Content-Length`` stay valid) minus hop-by-hop headers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from starlette.requests import Request

if TYPE_CHECKING:
    import httpx

#: Headers that describe one connection, not the message (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
#: Request headers the proxy sets itself: the origin's host, the body's framing, and
#: ``Expect`` (the server already answered ``100 Continue`` to the client).
REQUEST_ONLY = frozenset({"host", "content-length", "expect"})
#: Methods whose requests carry no body unless the client framed one.
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


_T = TypeVar("_T")


def env_var(env: Any, name: str, default: str) -> str:
    """A ``[vars]`` value as text, or ``default`` when the binding is absent."""
    value = getattr(env, name, None)
    return default if value is None else str(value)


def per_env(parse: Callable[[Any], _T]) -> Callable[[Any], _T]:
    """``parse(env)`` once per env object, not on every request (reading an unset var
    through ``Env`` costs an AttributeError); a dev reload hands over a new env."""
    last: list[Any] = [None, None]

    def settings_for(env: Any) -> _T:
        if last[0] is not env:
            last[:] = [env, parse(env)]
        result: _T = last[1]
        return result

    return settings_for


class OriginNotConfigured(Exception):
    """A worker's origin variable is missing or not an http(s) URL."""


def origin_base(value: object, var_name: str) -> str:
    """The origin URL from a worker variable, without a trailing slash.

    Raises ``OriginNotConfigured`` naming the variable when it is missing or not
    an ``http://`` / ``https://`` URL with a host.
    """
    if not isinstance(value, str) or not value.strip():
        raise OriginNotConfigured(f"[vars] {var_name} is not set; set it to the origin's URL")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise OriginNotConfigured(
            f"[vars] {var_name} = {value!r} is not an http(s) URL such as http://127.0.0.1:9000"
        )
    return value.strip().rstrip("/")


def _connection_tokens(raw: Iterable[tuple[bytes, bytes]]) -> set[str]:
    """Header names listed in ``Connection`` are hop-by-hop too."""
    tokens: set[str] = set()
    for name, value in raw:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.decode("latin-1").split(","))
    return tokens


def upstream_headers(
    request: Request, *, drop: Iterable[str] = (), add: Iterable[tuple[str, str]] = ()
) -> list[tuple[bytes, bytes]]:
    """The request's headers as the origin should see them.

    Removes hop-by-hop headers, ``host``, every header named in ``drop``
    (case-insensitive, all copies: a client cannot smuggle in a header the worker
    owns), then appends ``add`` and the ``X-Forwarded-*`` headers.
    """
    raw = request.headers.raw
    removed = HOP_BY_HOP | _connection_tokens(raw) | REQUEST_ONLY
    removed |= {name.lower() for name in drop}
    headers = [(k, v) for k, v in raw if k.decode("latin-1").lower() not in removed]
    if "content-length" in request.headers and request.headers.get("content-length") != "0":
        headers.append((b"content-length", request.headers["content-length"].encode("latin-1")))
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
    ctx: Any,
    base: str,
    *,
    drop: Iterable[str] = (),
    add: Iterable[tuple[str, str]] = (),
) -> httpx.Response:
    """Send ``request`` to the origin at ``base`` through ``ctx.fetch``.

    The returned response is unread: returned from a handler, the runtime streams
    it to the client (dropping its hop-by-hop headers).
    """
    kwargs: dict[str, Any] = {
        "method": request.method,
        "headers": upstream_headers(request, drop=drop, add=add),
        # Unread, to stream through; redirects are the client's to follow, not ours.
        "stream": True,
        "follow_redirects": False,
    }
    if _has_body(request):
        kwargs["content"] = request.stream()
    response: httpx.Response = await ctx.fetch(upstream_url(request, base), **kwargs)
    return response


def add_header(response: httpx.Response, name: str, value: str) -> None:
    """Append a header (``Set-Cookie`` may repeat, so never replace)."""
    import httpx

    response.headers = httpx.Headers([*response.headers.raw, (name.encode(), value.encode())])
