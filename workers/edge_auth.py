"""Edge auth: only requests with a valid token reach the origin.

Tokens live in KV (binding ``TOKENS``), one key per token, expiring by KV TTL::

    token:<value>  ->  the user id        metadata {"scopes": ["read", "write"]}

A request without a valid token, as ``Authorization: Bearer <value>`` or in the
``edgeworks_token`` cookie, is answered 401 at the edge with a
``WWW-Authenticate`` header and never reaches the origin. A valid one is
proxied with the user id in ``X-Edgeworks-User`` and the scopes in
``X-Edgeworks-Scopes``; copies of those headers sent by the client are removed
first, so the origin can trust them. The token itself is not forwarded.

Issue a token for a day, revoke it::

    edgeworks kv key put --binding TOKENS token:s3cr3t alice --ttl 86400 \\
        --metadata '{"scopes": ["read"]}'
    edgeworks kv key delete --binding TOKENS token:s3cr3t

Expired tokens disappear by TTL: no cleanup job. A revoked or expired token may
still be accepted by a location that cached it for up to ``TOKEN_CACHE_TTL``.

Settings ([vars]; only ``ORIGIN`` is required)::

    ORIGIN            origin URL
    TOKENS_BINDING    KV binding holding the tokens               (TOKENS)
    TOKEN_PREFIX      key prefix                                  (token:)
    TOKEN_CACHE_TTL   cache_ttl of token reads, s (>= 30)         (60)
    AUTH_COOKIE       cookie that may carry the token, "" = off   (edgeworks_token)
    USER_HEADER       header carrying the user id to the origin   (X-Edgeworks-User)
    SCOPES_HEADER     header carrying the scopes (comma-separated) (X-Edgeworks-Scopes)
    REQUIRED_SCOPE    when set, tokens without this scope get 403
    REALM             realm in WWW-Authenticate                   (edgeworks)
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse

from runtime.forward import forward
from workers._proxy import OriginNotConfigured, env_var, origin_base, per_env

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("edgeworks.workers.edge_auth")

DEFAULT_TOKENS_BINDING = "TOKENS"
DEFAULT_TOKEN_PREFIX = "token:"
DEFAULT_TOKEN_CACHE_TTL = 60  # seconds a location may use a cached token lookup
MIN_TOKEN_CACHE_TTL = 30  # seconds; KV refuses a smaller cache_ttl
DEFAULT_AUTH_COOKIE = "edgeworks_token"
DEFAULT_USER_HEADER = "X-Edgeworks-User"
DEFAULT_SCOPES_HEADER = "X-Edgeworks-Scopes"
DEFAULT_REALM = "edgeworks"
MAX_TOKEN_LENGTH = 256  # characters; longer values are refused before any KV read
#: RFC 6750 b64token characters; anything else is refused before any KV read.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: A user id or scope must be a safe header value (no controls, no commas in scopes).
HEADER_VALUE_PATTERN = re.compile(r"[\x20-\x7e]{1,256}")
SCOPE_PATTERN = re.compile(r"[\x21-\x2b\x2d-\x7e]{1,64}")
MISSING_BODY = "Unauthorized: send a bearer token.\n"
INVALID_BODY = "Unauthorized: the token is invalid, expired or revoked.\n"
FORBIDDEN_BODY = "Forbidden: the token lacks the required scope.\n"
MISCONFIGURED_BODY = "Bad gateway: the edge is not configured; see the server log.\n"
BAD_GATEWAY_BODY = "Bad gateway: the origin could not be reached.\n"
UNAVAILABLE_BODY = "Service unavailable: tokens cannot be checked right now.\n"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token belongs to."""

    user_id: str
    scopes: tuple[str, ...] = ()


def presented_token(request: Request, cookie_name: str) -> tuple[str | None, bool]:
    """The token the client sent and whether it came in the ``Authorization`` header.

    A malformed ``Authorization`` header (not ``Bearer <token>``) counts as no token.
    """
    # One pass over the raw headers (ASGI names are lower case): every rejected request
    # runs this, and building ``request.headers`` for it cost more than the scan.
    authorization = cookie_header = None
    for name, raw in request.scope["headers"]:
        if name == b"authorization":
            authorization = authorization or raw
        elif name == b"cookie":
            cookie_header = cookie_header or raw
    if authorization:
        scheme, _, value = authorization.decode("latin-1").strip().partition(" ")
        value = value.strip()
        if value and scheme.lower() == "bearer":
            return value, True
    if cookie_name and cookie_header:
        cookie = request.cookies.get(cookie_name)
        if cookie:
            return cookie, False
    return None, False


def well_formed(token: str) -> bool:
    """Whether ``token`` may be looked up at all (length and RFC 6750 characters)."""
    return len(token) <= MAX_TOKEN_LENGTH and TOKEN_PATTERN.fullmatch(token) is not None


def parse_principal(user_id: object, metadata: object) -> Principal | None:
    """The principal of a stored token, or ``None`` when the entry is unusable."""
    if not isinstance(user_id, str) or not HEADER_VALUE_PATTERN.fullmatch(user_id):
        return None
    scopes: tuple[str, ...] = ()
    if isinstance(metadata, dict) and "scopes" in metadata:
        raw = metadata["scopes"]
        if not isinstance(raw, list) or not all(
            isinstance(s, str) and SCOPE_PATTERN.fullmatch(s) for s in raw
        ):
            return None
        scopes = tuple(raw)
    return Principal(user_id, scopes)


def _cache_ttl(env: Any) -> int:
    raw = env_var(env, "TOKEN_CACHE_TTL", str(DEFAULT_TOKEN_CACHE_TTL))
    try:
        return max(int(raw), MIN_TOKEN_CACHE_TTL)
    except ValueError:
        logger.warning("edge_auth: TOKEN_CACHE_TTL=%r is not an integer", raw)
        return DEFAULT_TOKEN_CACHE_TTL


@dataclass(frozen=True, slots=True)
class Settings:
    """The worker's settings, read from ``env`` once per env (see module docstring)."""

    realm: str
    auth_cookie: str
    #: 401 answers, built once: no token at all / a token that is not valid
    missing: PlainTextResponse
    invalid: PlainTextResponse
    tokens: Any
    token_prefix: str
    cache_ttl: int
    user_header: str
    scopes_header: str
    required_scope: str
    #: the origin's base URL, or what is wrong with the configuration
    origin: str | OriginNotConfigured

    @classmethod
    def from_env(cls, env: Any) -> Settings:
        binding = env_var(env, "TOKENS_BINDING", DEFAULT_TOKENS_BINDING)
        tokens = getattr(env, binding, None)
        origin: str | OriginNotConfigured
        try:
            origin = origin_base(getattr(env, "ORIGIN", None), "ORIGIN")
            if tokens is None:
                raise OriginNotConfigured(f"no KV binding {binding!r} for the tokens")
        except OriginNotConfigured as exc:
            # Logged once per env; requests then get a 502 without a log line each.
            logger.error("edge_auth: %s; requests with a token get 502 until fixed", exc)
            origin = exc
        realm = env_var(env, "REALM", DEFAULT_REALM).replace('"', "")
        return cls(
            realm=realm,
            missing=_unauthorized(realm, MISSING_BODY, invalid=False),
            invalid=_unauthorized(realm, INVALID_BODY, invalid=True),
            auth_cookie=env_var(env, "AUTH_COOKIE", DEFAULT_AUTH_COOKIE),
            tokens=tokens,
            token_prefix=env_var(env, "TOKEN_PREFIX", DEFAULT_TOKEN_PREFIX),
            cache_ttl=_cache_ttl(env),
            user_header=env_var(env, "USER_HEADER", DEFAULT_USER_HEADER),
            scopes_header=env_var(env, "SCOPES_HEADER", DEFAULT_SCOPES_HEADER),
            required_scope=env_var(env, "REQUIRED_SCOPE", ""),
            origin=origin,
        )


#: The settings of an env, parsed on its first request (a reload brings a new env).
settings_for = per_env(Settings.from_env)


def _fingerprint(token: str) -> str:
    """A log-safe name for a token (never log the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def _unauthorized(realm: str, body: str, *, invalid: bool) -> PlainTextResponse:
    challenge = f'Bearer realm="{realm}"'
    if invalid:
        challenge += ', error="invalid_token"'
    return PlainTextResponse(body, status_code=401, headers={"WWW-Authenticate": challenge})


class _Copy(PlainTextResponse):
    """A fresh copy of a response built once. Rejections are the hot path: this skips
    rendering and re-encoding the headers; the copy has its own header list, so
    whatever changes it later changes only this response."""

    def __init__(self, template: PlainTextResponse) -> None:
        self.status_code = template.status_code
        self.background = None
        self.body = template.body
        self.raw_headers = list(template.raw_headers)


def _without_cookie(cookie_header: str, name: str) -> str:
    """The ``Cookie`` header minus the cookie ``name``."""
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except Exception:  # unparseable: drop the whole header rather than leak the token
        return ""
    return "; ".join(f"{k}={m.coded_value}" for k, m in jar.items() if k != name)


async def handle_request(
    request: Request, env: Any, ctx: Any
) -> httpx.Response | PlainTextResponse:
    """Answer 401/403 at the edge, or proxy to the origin with the user id attached."""
    settings = settings_for(env)
    token, from_header = presented_token(request, settings.auth_cookie)
    if token is None:
        return _Copy(settings.missing)
    if not well_formed(token):
        return _Copy(settings.invalid)
    base = settings.origin
    if isinstance(base, OriginNotConfigured):
        return PlainTextResponse(MISCONFIGURED_BODY, status_code=502)

    try:
        found = await settings.tokens.get_with_metadata(
            settings.token_prefix + token, cache_ttl=settings.cache_ttl
        )
    except Exception as exc:  # fail closed: a store outage lets nobody in
        logger.error("edge_auth: token lookup failed: %s", exc)
        return PlainTextResponse(UNAVAILABLE_BODY, status_code=503)
    if found.value is None:
        return _Copy(settings.invalid)
    principal = parse_principal(found.value, found.metadata)
    if principal is None:
        logger.warning(
            "edge_auth: the entry of token sha256:%s... is malformed (the value must be a "
            'printable user id, metadata {"scopes": [...]}); refusing it',
            _fingerprint(token),
        )
        return _Copy(settings.invalid)
    if settings.required_scope and settings.required_scope not in principal.scopes:
        return PlainTextResponse(FORBIDDEN_BODY, status_code=403)

    user_header, scopes_header = settings.user_header, settings.scopes_header
    drop = [user_header, scopes_header]
    add = [(user_header, principal.user_id), (scopes_header, ",".join(principal.scopes))]
    if from_header:
        drop.append("authorization")
    elif "cookie" in request.headers:
        drop.append("cookie")
        cookies = "; ".join(request.headers.getlist("cookie"))
        rest = _without_cookie(cookies, settings.auth_cookie)
        if rest:
            add.append(("cookie", rest))
    import httpx

    try:
        return await forward(request, base, fetch=ctx.fetch, drop=drop, add=add)
    except httpx.TransportError as exc:
        logger.error("edge_auth: origin %s unreachable: %s", base, exc)
        return PlainTextResponse(BAD_GATEWAY_BODY, status_code=502)
