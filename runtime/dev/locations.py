"""Simulated locations for ``edgeworks dev --locations`` (docs/dev.md, docs/kv.md "The edge cache").

Production Workers KV is eventually consistent: each location caches reads for
``cache_ttl``. ``dev`` normally runs one location with no cache (strong reads);
``--locations 3`` (or ``--locations sfo,ams,sin``) runs one ``EdgeCache`` per
simulated location over the one store, so code that assumes read-after-write
across locations fails here first.

- A request picks its location with the header ``X-Edgeworks-Location: ams``
  (default: the first); an unknown name is a 400 naming the configured ones.
  The response header ``X-Edgeworks-Location`` names the location that served it.
- Each location's KV bindings share the store and a controllable :class:`DevClock`,
  so TTLs and cache staleness can be fast-forwarded without sleeping:
  ``POST /__edgeworks/clock?advance=60`` (also ``?set=EPOCH``, ``?reset=1``);
  ``GET /__edgeworks/clock`` reports it.
- ``GET /__edgeworks/locations`` lists the locations and their cache sizes;
  ``POST /__edgeworks/locations?clear=NAME`` (or ``clear=all``) empties caches.

The dev server uses it in three places::

    locations = Locations.from_option("sfo,ams")
    host = locations.host(limits=..., origin=...)     # instead of WorkerHost(...)
    app = create_app(host, mode="dev", extra_routes={**routes, **locations.routes()})
    app = locations.wrap(app)                          # header in, header out
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.env import Env
from runtime.host import Generation, WorkerHost

__all__ = ["DevClock", "Locations", "LocationsHost", "parse_locations"]

# Names handed out for ``--locations N`` (IATA codes of well-spread cities).
DEFAULT_LOCATION_NAMES = ("sfo", "ams", "sin", "gru", "syd", "nrt", "jnb", "fra", "iad", "bom")
MAX_LOCATIONS = 32  # simulated locations per dev server
LOCATION_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
LOCATION_HEADER = b"x-edgeworks-location"
LOCATION_SCOPE_KEY = "edgeworks.location"
CLOCK_PATH = "/__edgeworks/clock"
LOCATIONS_PATH = "/__edgeworks/locations"
MSG_UNKNOWN_LOCATION = (
    "Unknown location {name!r} in X-Edgeworks-Location: configured locations are {allowed}"
)
MSG_BAD_LOCATIONS = (
    "--locations {value!r}: give a count from 1 to {max} or comma-separated names "
    "(lowercase letters, digits, '-' and '_', unique)"
)


def parse_locations(value: str | int) -> list[str]:
    """``"3"`` -> the first three default names; ``"sfo,ams"`` -> those names.

    >>> parse_locations("2")
    ['sfo', 'ams']
    """
    text = str(value).strip()
    error = ValueError(MSG_BAD_LOCATIONS.format(value=str(value), max=MAX_LOCATIONS))
    if text.isdigit():
        count = int(text)
        if not 1 <= count <= MAX_LOCATIONS:
            raise error
        names = list(DEFAULT_LOCATION_NAMES[:count])
        names += [f"loc{i}" for i in range(len(names) + 1, count + 1)]
        return names
    names = [part.strip() for part in text.split(",")]
    if (
        not 1 <= len(names) <= MAX_LOCATIONS
        or len(set(names)) != len(names)
        or not all(LOCATION_NAME_PATTERN.match(n) for n in names)
    ):
        raise error
    return names


class DevClock:
    """Wall-clock time plus an offset that dev's clock control moves.

    >>> clock = DevClock()
    >>> clock.advance(3600)   # every location's KV now lives an hour later
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        """Move forward (or back, with a negative value); returns the new time."""
        self.offset += seconds
        return self()

    def set(self, epoch: float) -> float:
        """Jump to ``epoch`` seconds; time keeps running from there."""
        self.offset = epoch - time.time()
        return self()

    def reset(self) -> float:
        self.offset = 0.0
        return self()


class Locations:
    """N simulated locations: one ``EdgeCache`` each, over one store and one clock."""

    def __init__(
        self,
        names: Sequence[str],
        *,
        clock: DevClock | None = None,
        cache_max_bytes: int | None = None,
    ) -> None:
        from kv import EdgeCache

        if not names:
            raise ValueError("Locations needs at least one name")
        self.names = list(names)
        self.default = self.names[0]
        self.clock = clock or DevClock()
        options = {} if cache_max_bytes is None else {"max_bytes": cache_max_bytes}
        self.caches = {name: EdgeCache(**options) for name in self.names}
        self._envs: tuple[Env, dict[str, Env]] | None = None

    @classmethod
    def from_option(cls, value: str | int, **kwargs: Any) -> Locations:
        """From the ``--locations`` value; ``ValueError`` with a usage message."""
        return cls(parse_locations(value), **kwargs)

    def banner_line(self) -> str:
        """The dev banner's line about the simulated locations."""
        return (
            f"  locations {', '.join(self.names)} (default {self.default}; header "
            f"X-Edgeworks-Location; clock: POST {CLOCK_PATH}?advance=S)"
        )

    # --- per-request selection ------------------------------------------------

    def pick(self, scope: Scope) -> str:
        """The location a request asked for; ``KeyError`` for an unknown name."""
        for name, value in scope.get("headers", ()):
            if name == LOCATION_HEADER:
                wanted: str = value.decode("latin-1").strip().lower()
                if wanted not in self.caches:
                    raise KeyError(wanted)
                return wanted
        return self.default

    def env_for(self, base: Env, location: str) -> Env:
        """``base`` with every KV binding reading through ``location``'s cache."""
        if self._envs is None or self._envs[0] is not base:
            self._envs = (base, {name: self._localise(base, name) for name in self.names})
        return self._envs[1][location]

    def _localise(self, base: Env, location: str) -> Env:
        from kv import KVNamespace

        bindings: dict[str, Any] = {}
        for name, value in base.as_dict().items():
            if isinstance(value, KVNamespace):
                value = KVNamespace(
                    value.store,
                    value.id,
                    clock=self.clock,
                    cache=self.caches[location],
                    cache_ttl_default=value.cache_ttl_default,
                    limit_write_rate=value.limit_write_rate,
                )
            bindings[name] = value
        return Env(bindings)

    def host(self, **kwargs: Any) -> LocationsHost:
        """A ``WorkerHost`` (same arguments) that serves each request at its location."""
        return LocationsHost(self, **kwargs)

    # --- ASGI -----------------------------------------------------------------

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """Middleware: pick the location from the request, name it in the response."""

        async def located(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            try:
                location = self.pick(scope)
            except KeyError as exc:
                allowed = ", ".join(self.names)
                body = MSG_UNKNOWN_LOCATION.format(name=exc.args[0], allowed=allowed) + "\n"
                await _respond(send, 400, body.encode(), b"text/plain; charset=utf-8")
                return
            scope = {**scope, LOCATION_SCOPE_KEY: location}

            async def named_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = [
                        (k, v) for k, v in message.get("headers", []) if k != LOCATION_HEADER
                    ]
                    headers.append((LOCATION_HEADER, location.encode()))
                    message = {**message, "headers": headers}
                await send(message)

            await app(scope, receive, named_send)

        return located

    def routes(self) -> dict[str, ASGIApp]:
        """Dev-only endpoints: clock control and the locations' caches."""
        return {CLOCK_PATH: self._clock_route, LOCATIONS_PATH: self._locations_route}

    async def _clock_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = _query(scope)
        if scope.get("method") == "POST":
            try:
                if "advance" in query:
                    self.clock.advance(float(query["advance"]))
                elif "set" in query:
                    self.clock.set(float(query["set"]))
                elif "reset" in query:
                    self.clock.reset()
                else:
                    raise ValueError("give advance=SECONDS, set=EPOCH or reset=1")
            except ValueError as exc:
                await _json(send, 400, {"error": f"clock: {exc}"})
                return
        await _json(send, 200, {"now": self.clock(), "offset": self.clock.offset})

    async def _locations_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = _query(scope)
        if scope.get("method") == "POST":
            target = query.get("clear", "")
            if target == "all":
                for cache in self.caches.values():
                    cache.clear()
            elif target in self.caches:
                self.caches[target].clear()
            else:
                allowed = ", ".join([*self.names, "all"])
                await _json(send, 400, {"error": f"clear={target!r}: allowed are {allowed}"})
                return
        await _json(send, 200, self.describe())

    def describe(self) -> dict[str, Any]:
        """What ``GET /__edgeworks/locations`` answers (also for the dev banner)."""
        return {
            "default": self.default,
            "locations": [
                {"name": n, "cached_keys": len(c), "cached_bytes": c.size_bytes}
                for n, c in self.caches.items()
            ],
        }


class LocationsHost(WorkerHost):
    """A ``WorkerHost`` whose requests run with their location's env."""

    def __init__(self, locations: Locations, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.locations = locations

    def resolve(self, scope: Scope) -> Generation:
        current = self.current
        location = scope.get(LOCATION_SCOPE_KEY, self.locations.default)
        env = self.locations.env_for(current.env, location)
        return Generation(current.worker, env, current.error)


def _query(scope: Scope) -> Mapping[str, str]:
    raw = scope.get("query_string", b"").decode("latin-1")
    return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}


async def _json(send: Send, status: int, data: Any) -> None:
    await _respond(send, status, json.dumps(data).encode(), b"application/json")


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
