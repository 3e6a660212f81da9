"""Blue-green router: an edge worker in front of two origins, "blue" and "green".

Which colour serves whom lives in KV (binding ``DEPLOY``, key ``deploy:config``)::

    {"active": "blue", "green_percent": 20, "sticky": true}

``active`` takes every request not sent elsewhere, and all of them when the
config is missing or broken; ``<other>_percent`` (0..100) is the share of users
sent to the other colour. Shifting 10% -> 50% -> 100%, or rolling back, is one
``edgeworks kv key put --binding DEPLOY deploy:config '...'``.

Assignment is deterministic: a user's id (a random id in a cookie this worker
sets) hashes to a bucket 0..99, and buckets below the percent go to the other
colour. The same id lands in the same bucket in every location and process, and
raising the percent only moves users towards the new colour, never back.

Settings ([vars], all optional except the origins)::

    BLUE_ORIGIN, GREEN_ORIGIN   origin URLs
    DEPLOY_BINDING              KV binding holding the config      (DEPLOY)
    CONFIG_KEY                  key of the config                  (deploy:config)
    CONFIG_CACHE_TTL            cache_ttl of the config read, s    (60, at least 30)
    DEFAULT_COLOR               colour when the config names none  (blue)
    USER_COOKIE                 cookie holding the user's id       (edgeworks_uid)
    FORCE_HEADER, FORCE_COOKIE  let testers pick a colour          (X-Edgeworks-Force-Color,
                                                                    edgeworks_force_color;
                                                                    "" turns either off)
    COLOR_HEADER                response header naming the colour  (X-Edgeworks-Color)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse

from runtime.forward import forward
from workers._proxy import OriginNotConfigured, add_header, env_var, origin_base, per_env

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("edgeworks.workers.blue_green")

COLORS = ("blue", "green")
BUCKETS = 100  # assignment granularity: one bucket is 1% of users
DEFAULT_CONFIG_KEY = "deploy:config"
DEFAULT_DEPLOY_BINDING = "DEPLOY"
DEFAULT_CONFIG_CACHE_TTL = 60  # seconds a location may use its cached copy of the config
MIN_CONFIG_CACHE_TTL = 30  # seconds; KV refuses a smaller cache_ttl
DEFAULT_USER_COOKIE = "edgeworks_uid"
DEFAULT_FORCE_HEADER = "X-Edgeworks-Force-Color"
DEFAULT_FORCE_COOKIE = "edgeworks_force_color"
DEFAULT_COLOR_HEADER = "X-Edgeworks-Color"
USER_COOKIE_MAX_AGE = 365 * 24 * 3600  # seconds the assignment cookie lives
USER_ID_BYTES = 16  # random bytes in a new user id (22 url-safe characters)
USER_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # ids we accept back from a cookie
WARNING_INTERVAL = 60.0  # seconds between two log lines about the same config problem
BAD_GATEWAY_BODY = "Bad gateway: the origin could not be reached.\n"
MISCONFIGURED_BODY = "Bad gateway: this router is not configured; see the server log.\n"

WARNED_MESSAGES_KEPT = 100  # distinct problems remembered for rate limiting

_last_warned: dict[str, float] = {}


def _warn(message: str, level: int = logging.WARNING) -> None:
    """Log a config problem, at most once per ``WARNING_INTERVAL`` per message."""
    now = time.monotonic()
    last = _last_warned.get(message)
    if last is None or now - last >= WARNING_INTERVAL:
        if len(_last_warned) >= WARNED_MESSAGES_KEPT:
            _last_warned.clear()
        _last_warned[message] = now
        logger.log(level, "blue_green: %s", message)


@dataclass(frozen=True, slots=True)
class Split:
    """Where traffic goes: ``other_percent`` of users to the non-active colour."""

    active: str
    other_percent: int = 0
    sticky: bool = True

    @property
    def other(self) -> str:
        return COLORS[1] if self.active == COLORS[0] else COLORS[0]

    def color_for(self, bucket: int) -> str:
        """The colour of a user in ``bucket`` (0..99)."""
        return self.other if bucket < self.other_percent else self.active


def parse_split(raw: object, default: str) -> tuple[Split, str | None]:
    """Read a config document; a bad one sends everything to the active colour.

    Returns the split and, when the document was not usable as it stands, the
    problem to log. ``default`` is the colour used when no valid ``active`` is given.
    """
    if raw is None:
        return Split(default), "no deploy config in KV; sending all traffic to " + default
    if not isinstance(raw, dict):
        return Split(default), f"deploy config must be a JSON object, got {raw!r:.80}"
    active = raw.get("active", default)
    if active not in COLORS:
        return Split(default), f'deploy config "active" must be "blue" or "green", got {active!r}'
    split = Split(active)
    unknown = set(raw) - {"active", "sticky", "blue_percent", "green_percent"}
    if unknown:
        return split, f"deploy config has unknown keys {sorted(unknown)}; all traffic to {active}"
    own = f"{active}_percent"
    if own in raw:
        return split, (
            f'deploy config gives "{own}" for the active colour; give "{split.other}_percent" '
            f"(the share of the other colour) instead; all traffic to {active}"
        )
    percent = raw.get(f"{split.other}_percent", 0)
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        return split, (
            f'deploy config "{split.other}_percent" must be an integer 0..100, got {percent!r}; '
            f"all traffic to {active}"
        )
    sticky = raw.get("sticky", True)
    if not isinstance(sticky, bool):
        return split, f'deploy config "sticky" must be true or false, got {sticky!r}'
    return Split(active, percent, sticky), None


def bucket_of(user_id: str) -> int:
    """The user's bucket 0..99: a stable hash, the same in every process and location."""
    digest = hashlib.sha256(user_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def _cache_ttl(env: Any) -> int:
    raw = env_var(env, "CONFIG_CACHE_TTL", str(DEFAULT_CONFIG_CACHE_TTL))
    try:
        ttl = int(raw)
    except ValueError:
        ttl = DEFAULT_CONFIG_CACHE_TTL
        _warn(f"CONFIG_CACHE_TTL={raw!r} is not an integer; using {ttl}")
    if ttl < MIN_CONFIG_CACHE_TTL:
        _warn(f"CONFIG_CACHE_TTL={ttl} is below {MIN_CONFIG_CACHE_TTL}; using it")
        ttl = MIN_CONFIG_CACHE_TTL
    return ttl


@dataclass(frozen=True, slots=True)
class Settings:
    """The router's settings, read from ``env`` once per env (see module docstring)."""

    default: str
    namespace: Any
    binding: str
    config_key: str
    cache_ttl: int
    user_cookie: str
    force_header: str
    force_cookie: str
    color_header: str
    #: colour -> origin base URL, or the problem with its variable
    origins: dict[str, str | OriginNotConfigured]

    @classmethod
    def from_env(cls, env: Any) -> Settings:
        default = env_var(env, "DEFAULT_COLOR", COLORS[0])
        if default not in COLORS:
            _warn(f"DEFAULT_COLOR={default!r} is not blue or green; using blue")
            default = COLORS[0]
        origins: dict[str, str | OriginNotConfigured] = {}
        for color in COLORS:
            var_name = f"{color.upper()}_ORIGIN"
            try:
                origins[color] = origin_base(getattr(env, var_name, None), var_name)
            except OriginNotConfigured as exc:
                origins[color] = exc
        binding = env_var(env, "DEPLOY_BINDING", DEFAULT_DEPLOY_BINDING)
        return cls(
            default=default,
            namespace=getattr(env, binding, None),
            binding=binding,
            config_key=env_var(env, "CONFIG_KEY", DEFAULT_CONFIG_KEY),
            cache_ttl=_cache_ttl(env),
            user_cookie=env_var(env, "USER_COOKIE", DEFAULT_USER_COOKIE),
            force_header=env_var(env, "FORCE_HEADER", DEFAULT_FORCE_HEADER),
            force_cookie=env_var(env, "FORCE_COOKIE", DEFAULT_FORCE_COOKIE),
            color_header=env_var(env, "COLOR_HEADER", DEFAULT_COLOR_HEADER),
            origins=origins,
        )


#: The settings of an env, parsed on its first request (a reload brings a new env).
settings_for = per_env(Settings.from_env)


async def read_split(settings: Settings) -> Split:
    """The current split from KV (through the location's cache); never raises."""
    default, key = settings.default, settings.config_key
    if settings.namespace is None:
        _warn(f"no KV binding {settings.binding!r}; sending all traffic to {default}")
        return Split(default)
    try:
        raw = await settings.namespace.get(key, type="json", cache_ttl=settings.cache_ttl)
    except json.JSONDecodeError:
        _warn(f"deploy config at {key!r} is not JSON; sending all traffic to {default}")
        return Split(default)
    except Exception as exc:  # a store outage must not become an error page
        _warn(f"reading {key!r} failed ({exc}); sending all traffic to {default}")
        return Split(default)
    split, problem = parse_split(raw, default)
    if problem:
        _warn(problem)
    return split


def _forced_color(request: Request, settings: Settings) -> str | None:
    header, cookie = settings.force_header, settings.force_cookie
    value = (request.headers.get(header) if header else None) or (
        request.cookies.get(cookie) if cookie else None
    )
    value = (value or "").strip().lower()
    return value if value in COLORS else None


def _user_cookie(name: str, user_id: str, request: Request) -> str:
    secure = "; Secure" if request.url.scheme == "https" else ""
    return (
        f"{name}={user_id}; Path=/; Max-Age={USER_COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax{secure}"
    )


async def handle_request(
    request: Request, env: Any, ctx: Any
) -> httpx.Response | PlainTextResponse:
    """Route the request to blue or green and proxy it there."""
    settings = settings_for(env)
    split = await read_split(settings)
    new_user_id: str | None = None
    color = _forced_color(request, settings)
    if color is None:
        if split.other_percent == 0:
            color = split.active
        elif not split.sticky:
            color = split.color_for(secrets.randbelow(BUCKETS))
        else:
            user_id = request.cookies.get(settings.user_cookie, "")
            if not USER_ID_PATTERN.fullmatch(user_id):
                user_id = new_user_id = secrets.token_urlsafe(USER_ID_BYTES)
            color = split.color_for(bucket_of(user_id))
    base = settings.origins[color]
    if isinstance(base, OriginNotConfigured):
        _warn(str(base), logging.ERROR)
        return PlainTextResponse(MISCONFIGURED_BODY, status_code=502)
    import httpx

    try:
        response = await forward(request, base, fetch=ctx.fetch)
    except httpx.TransportError as exc:
        logger.error("blue_green: %s origin %s unreachable: %s", color, base, exc)
        return PlainTextResponse(BAD_GATEWAY_BODY, status_code=502)
    response.headers[settings.color_header] = color
    if new_user_id is not None:
        cookie = _user_cookie(settings.user_cookie, new_user_id, request)
        add_header(response, "set-cookie", cookie)
    return response
