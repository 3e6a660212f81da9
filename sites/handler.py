"""``AssetHandler``: serve the live site of a ``__STATIC_CONTENT`` namespace (spec/sites.md §2).

Per request, in order: ``_redirects`` -> per-segment decoding -> html_handling ->
not_found_handling -> method -> headers (+ ``_headers``) -> If-None-Match -> Range.
Steps 1-4 and the headers depend only on the path (and, in SPA mode, on whether
the request is a navigation), so their outcome is remembered per manifest in a
bounded route table; a cached GET costs a dict lookup, a hot-asset lookup and a
response object. Asset bodies live in memory under a byte budget; their keys are
content hashes, so a cached body is never stale.

The live manifest is re-read around the edge cache at most every
``refresh_interval`` seconds (injected clock), and on the next request after a
deploy made by this process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.responses import Response

from sites import limits
from sites._http import UNSATISFIABLE, if_range_allows, none_match, parse_range
from sites._resolve import Intent, MalformedPath, Resolver, decode_path, encode_path
from sites._rules import HeaderRules, RedirectRules
from sites.manifest import Manifest, ManifestEntry, deploy_generation, read_manifest, read_pointer

if TYPE_CHECKING:
    from starlette.requests import Request

    from kv import KVNamespace

logger = logging.getLogger("edgeworks.sites")

Headers = list[tuple[bytes, bytes]]

_ASSET, _REDIRECT, _NOT_FOUND, _BAD, _TOO_LONG = range(5)
_NOSNIFF = "nosniff"


class _Reply(Response):
    """A response whose raw headers are already built (no per-request header parsing)."""

    def __init__(self, status: int, headers: Headers, body: bytes = b"") -> None:
        self.status_code = status
        self.raw_headers = headers
        self.body = body
        self.background = None


@dataclass(slots=True)
class _Route:
    kind: int
    status: int
    headers: Headers  # final headers except Content-Length / Content-Range
    entry: ManifestEntry | None = None
    path: str | None = None  # the manifest path served
    location: str | None = None  # without the query string
    keep_query: bool = False
    exists: bool = False  # something lives at this path: other methods get 405, not 404


def _encode(headers: dict[str, str]) -> Headers:
    return [(name.encode("latin-1"), value.encode("utf-8")) for name, value in headers.items()]


class _Site:
    """One manifest compiled for serving."""

    def __init__(
        self,
        manifest: Manifest,
        html_handling: str | None,
        not_found_handling: str | None,
        cache_control: str | None,
        previous: Sequence[Manifest] = (),
    ) -> None:
        self.version = manifest.version
        self.files = {"/" + path: entry for path, entry in manifest.files.items()}
        # Grace for subresources: a page of a previous kept version may still ask for an
        # asset this version dropped. Exact paths only, never HTML (a deleted page is gone).
        self.grace: dict[str, ManifestEntry] = {}
        for old in reversed(previous):
            for path, entry in old.files.items():
                if not entry.content_type.startswith("text/html"):
                    self.grace["/" + path] = entry
        self.not_found_handling = not_found_handling or manifest.not_found_handling
        self.resolver = Resolver(
            self.files, html_handling or manifest.html_handling, self.not_found_handling
        )
        self.cache_control = manifest.cache_control if cache_control is None else cache_control
        self.redirects = RedirectRules(manifest.redirects)
        self.header_rules = HeaderRules(manifest.headers)
        self.spa = self.not_found_handling == "single-page-application"
        self.routes: dict[tuple[bytes, bool], _Route] = {}

    def route(self, raw: bytes, navigation: bool) -> _Route:
        cache_key = (raw, navigation)
        route = self.routes.get(cache_key)
        if route is None:
            route = self._build(raw, navigation)
            if len(self.routes) >= limits.ROUTE_CACHE_ENTRIES:
                self.routes.clear()
            self.routes[cache_key] = route
        return route

    def finish(self, rule_path: str, headers: dict[str, str]) -> Headers:
        return _encode(self.header_rules.apply(rule_path, headers))

    def plain(self, rule_path: str, kind: int, status: int, **extra: str) -> _Route:
        headers = {"x-content-type-options": _NOSNIFF, **extra}
        return _Route(kind, status, self.finish(rule_path, headers))

    def _build(self, raw: bytes, navigation: bool) -> _Route:
        rule_path = raw.decode("utf-8", "replace")
        if len(raw) > limits.MAX_REQUEST_PATH_BYTES:
            return self.plain(rule_path, _TOO_LONG, 414)
        target = raw
        rewritten = False
        match = self.redirects.match(rule_path) if self.redirects else None
        if match is not None:
            if match.status != 200:
                location = _safe_location(match.target)
                headers = {"location": location, "x-content-type-options": _NOSNIFF}
                return _Route(
                    _REDIRECT,
                    match.status,
                    self.finish(rule_path, headers),
                    location=location,
                    keep_query="?" not in location,
                )
            target = match.target.split("?", 1)[0].encode("utf-8")
            rewritten = True
        try:
            path = decode_path(target)
        except MalformedPath:
            return self.plain(rule_path, _BAD, 400)
        if path is None:
            return self.plain(rule_path, _NOT_FOUND, 404)
        intent: Intent | None
        if rewritten:
            served = self.resolver.resolve_file(path)
            intent = (
                Intent(path=served)
                if served
                else self.resolver.resolve(path, navigation=navigation)
            )
        else:
            intent = self.resolver.resolve(path, navigation=navigation)
        if (intent is None or intent.fallback) and path in self.grace and path not in self.files:
            intent = Intent(path=path)
        if intent is None:
            return self.plain(rule_path, _NOT_FOUND, 404)
        if intent.redirect is not None:
            location = encode_path(intent.redirect)
            headers = {"location": location, "x-content-type-options": _NOSNIFF}
            return _Route(
                _REDIRECT,
                limits.REDIRECT_CODE,
                self.finish(rule_path, headers),
                location=location,
                keep_query=True,
                exists=True,
            )
        assert intent.path is not None
        entry = self.files.get(intent.path) or self.grace[intent.path]
        headers = {"content-type": entry.content_type}
        if intent.status == 200:
            headers["etag"] = f'"{entry.etag}"'
            headers["accept-ranges"] = "bytes"
        headers["x-content-type-options"] = _NOSNIFF
        if self.cache_control:
            headers["cache-control"] = self.cache_control
        return _Route(
            _ASSET,
            intent.status,
            self.finish(rule_path, headers),
            entry=entry,
            path=intent.path,
            exists=not intent.fallback,
        )


def _safe_location(target: str) -> str:
    """A ``_redirects`` target made safe for a header: never ``//host``, no control chars."""
    target = "".join(ch for ch in target if ch >= " " and ch != "\x7f")
    if target.startswith(("/", "\\")):
        target = "/" + target.lstrip("/\\")
    return target


class AssetHandler:
    """Serve the site deployed into ``namespace`` (the ``__STATIC_CONTENT`` binding).

    >>> assets = AssetHandler(env.__STATIC_CONTENT)   # getattr(env, "__STATIC_CONTENT") in a class
    >>> async def handle_request(request, env):
    ...     if request.url.path.startswith("/api/"):
    ...         return await my_api(request)
    ...     return await assets(request)

    Serving options come from the manifest (recorded at deploy); keyword
    arguments override them.
    """

    def __init__(
        self,
        namespace: KVNamespace,
        *,
        html_handling: str | None = None,
        not_found_handling: str | None = None,
        cache_control: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_interval: float = limits.MANIFEST_REFRESH_SECONDS,
        hot_bytes: int = limits.DEFAULT_HOT_BYTES,
    ) -> None:
        if html_handling is not None and html_handling not in limits.HTML_HANDLING_MODES:
            raise ValueError(
                limits.MSG_BAD_OPTION.format(
                    name="html_handling",
                    allowed=", ".join(limits.HTML_HANDLING_MODES),
                    value=html_handling,
                )
            )
        if not_found_handling is not None and not_found_handling not in limits.NOT_FOUND_MODES:
            raise ValueError(
                limits.MSG_BAD_OPTION.format(
                    name="not_found_handling",
                    allowed=", ".join(limits.NOT_FOUND_MODES),
                    value=not_found_handling,
                )
            )
        self.namespace = namespace
        self._direct = namespace.without_cache()
        self._options = (html_handling, not_found_handling, cache_control)
        self._clock = clock
        self._interval = refresh_interval
        self._hot_budget = hot_bytes
        self._hot: OrderedDict[str, bytes] = OrderedDict()
        self._hot_size = 0
        self._site: _Site | None = None
        self._checked_at: float | None = None
        self._generation = -1
        self._refreshing: asyncio.Future[None] | None = None

    @property
    def version(self) -> int | None:
        """The manifest version being served (``None`` before one was found)."""
        return self._site.version if self._site is not None else None

    @property
    def hot_bytes(self) -> int:
        """Bytes of asset bodies held in memory."""
        return self._hot_size

    async def refresh(self) -> None:
        """Re-read the pointer now (and the manifest if it moved)."""
        pointer = await read_pointer(self._direct)
        self._checked_at = self._clock()
        if pointer is None:
            self._site = None
            return
        if self._site is not None and self._site.version == pointer.version:
            return
        manifest = await read_manifest(self._direct, pointer.version)
        if manifest is None:
            logger.warning(
                "manifest v%d is missing from KV; still serving the previous one", pointer.version
            )
            return
        previous = []
        for version in pointer.published[1 : manifest.keep]:
            old = await read_manifest(self._direct, version)
            if old is not None:
                previous.append(old)
        self._site = _Site(manifest, *self._options, previous=previous)

    async def _current(self) -> _Site | None:
        generation = deploy_generation()
        checked = self._checked_at
        if (
            checked is not None
            and generation == self._generation
            and self._clock() - checked < self._interval
        ):
            return self._site
        started = self._refreshing is None
        if self._refreshing is None:
            # This request re-reads the pointer (one KV read); requests arriving meanwhile
            # keep serving the current manifest instead of queueing behind it.
            self._generation = generation
            self._refreshing = asyncio.ensure_future(self.refresh())
            self._refreshing.add_done_callback(self._refreshed)
        if started or self._site is None or checked is None:
            try:
                await asyncio.shield(self._refreshing)
            except Exception:
                if self._site is None:
                    raise  # nothing to serve: the KVError (503) reaches the runtime
                # Store trouble: keep serving the manifest we have (logged in _refreshed).
        return self._site

    def _refreshed(self, future: asyncio.Future[None]) -> None:
        self._refreshing = None
        if not future.cancelled() and future.exception() is not None:
            self._generation = -1  # try again on the next request
            logger.warning("cannot read the site manifest: %s", future.exception())

    async def _body(self, entry: ManifestEntry) -> bytes | None:
        hot = self._hot.get(entry.key)
        if hot is not None:
            self._hot.move_to_end(entry.key)
            return hot
        data: bytes | None = await self.namespace.get(entry.key, "bytes")
        if data is None:
            return None
        if len(data) <= limits.MAX_HOT_ASSET_BYTES and len(data) <= self._hot_budget:
            self._hot[entry.key] = data
            self._hot_size += len(data)
            while self._hot_size > self._hot_budget:
                _, evicted = self._hot.popitem(last=False)
                self._hot_size -= len(evicted)
        return data

    async def __call__(self, request: Request) -> Response:
        scope = request.scope
        raw = scope.get("raw_path") or scope["path"].encode("utf-8")
        raw = raw.split(b"?", 1)[0]
        if_none_match = range_header = if_range = accept = fetch_mode = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
            elif name == b"range":
                range_header = value.decode("latin-1")
            elif name == b"if-range":
                if_range = value.decode("latin-1")
            elif name == b"accept":
                accept = value
            elif name == b"sec-fetch-mode":
                fetch_mode = value

        site = await self._current()
        if site is None:
            return _Reply(404, [(b"x-content-type-options", b"nosniff"), (b"content-length", b"0")])
        navigation = site.spa and (
            fetch_mode == b"navigate" or (accept is not None and b"text/html" in accept)
        )
        route = site.route(raw, navigation)
        method = scope["method"]
        head = method == "HEAD"

        if route.kind == _REDIRECT:
            if method not in ("GET", "HEAD") and route.exists:
                return self._not_allowed(site, raw)
            headers = route.headers
            query: bytes = scope.get("query_string", b"")
            if route.keep_query and query and all(b >= 0x20 and b != 0x7F for b in query):
                headers = [(n, v + b"?" + query if n == b"location" else v) for n, v in headers]
            return _Reply(route.status, [*headers, (b"content-length", b"0")])
        if route.kind != _ASSET:
            if method not in ("GET", "HEAD") and route.kind == _NOT_FOUND:
                return _Reply(404, [*route.headers, (b"content-length", b"0")])
            return _Reply(route.status, [*route.headers, (b"content-length", b"0")])
        if method not in ("GET", "HEAD"):
            if route.exists:
                return self._not_allowed(site, raw)
            return _Reply(
                404,
                [
                    *site.plain(raw.decode("utf-8", "replace"), _NOT_FOUND, 404).headers,
                    (b"content-length", b"0"),
                ],
            )

        entry = route.entry
        assert entry is not None
        if (
            route.status == 200
            and if_none_match is not None
            and none_match(if_none_match, entry.etag)
        ):
            return _Reply(304, route.headers)
        body = await self._body(entry)
        if body is None:
            logger.warning(limits.NOT_FOUND_ASSET_WARNING, route.path, entry.key, site.version)
            plain = site.plain(raw.decode("utf-8", "replace"), _NOT_FOUND, 404)
            return _Reply(404, [*plain.headers, (b"content-length", b"0")])
        size = len(body)
        if (
            route.status == 200
            and range_header is not None
            and if_range_allows(if_range, entry.etag)
        ):
            span = parse_range(range_header, size)
            if span == UNSATISFIABLE:
                return _Reply(
                    416,
                    [
                        *route.headers,
                        (b"content-range", b"bytes */%d" % size),
                        (b"content-length", b"0"),
                    ],
                )
            if span is not None:
                start, end = span
                headers = [
                    *route.headers,
                    (b"content-range", b"bytes %d-%d/%d" % (start, end, size)),
                    (b"content-length", b"%d" % (end - start + 1)),
                ]
                return _Reply(206, headers, b"" if head else body[start : end + 1])
        return _Reply(
            route.status, [*route.headers, (b"content-length", b"%d" % size)], b"" if head else body
        )

    def _not_allowed(self, site: _Site, raw: bytes) -> Response:
        route = site.plain(
            raw.decode("utf-8", "replace"), _NOT_FOUND, 405, allow=limits.ALLOW_HEADER
        )
        return _Reply(405, [*route.headers, (b"content-length", b"0")])
