"""``AssetHandler``: serve the live site of a ``__STATIC_CONTENT`` namespace (docs/sites.md, "Serving").

Per request, in order: ``_redirects`` -> per-segment decoding -> html_handling ->
not_found_handling -> method -> headers (+ ``_headers``) -> If-None-Match -> Range.
Steps 1-4 and the headers live in ``sites/_site.py`` (a manifest compiled into a
route table); here: freshness of the manifest, methods, conditionals, ranges and
bodies. A cached GET costs a dict lookup, a hot-asset lookup and a response object. Asset bodies live in memory under a byte budget; their keys are
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
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.responses import Response

from sites import limits
from sites._http import UNSATISFIABLE, if_range_allows, none_match, parse_range
from sites._site import ASSET, NOT_FOUND, REDIRECT, Headers, Site
from sites.manifest import ManifestEntry, deploy_generation, read_manifest, read_pointer

if TYPE_CHECKING:
    from starlette.requests import Request

    from kv import KVNamespace

logger = logging.getLogger("edgeworks.sites")


class _Reply(Response):
    """A response whose raw headers are already built (no per-request header parsing)."""

    def __init__(self, status: int, headers: Headers, body: bytes = b"") -> None:
        self.status_code = status
        self.raw_headers = headers
        self.body = body
        self.background = None


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
        self._site: Site | None = None
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
        self._site = Site(manifest, *self._options, previous=previous)

    async def _current(self) -> Site | None:
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

        if route.kind == REDIRECT:
            if method not in ("GET", "HEAD") and route.exists:
                return self._not_allowed(site, raw)
            headers = route.headers
            query: bytes = scope.get("query_string", b"")
            if route.keep_query and query and all(b >= 0x20 and b != 0x7F for b in query):
                headers = [(n, v + b"?" + query if n == b"location" else v) for n, v in headers]
            return _Reply(route.status, [*headers, (b"content-length", b"0")])
        if route.kind != ASSET:
            if method not in ("GET", "HEAD") and route.kind == NOT_FOUND:
                return _Reply(404, [*route.headers, (b"content-length", b"0")])
            return _Reply(route.status, [*route.headers, (b"content-length", b"0")])
        if method not in ("GET", "HEAD"):
            if route.exists:
                return self._not_allowed(site, raw)
            return _Reply(
                404,
                [
                    *site.plain(raw.decode("utf-8", "replace"), NOT_FOUND, 404).headers,
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
            plain = site.plain(raw.decode("utf-8", "replace"), NOT_FOUND, 404)
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

    def _not_allowed(self, site: Site, raw: bytes) -> Response:
        route = site.plain(
            raw.decode("utf-8", "replace"), NOT_FOUND, 405, allow=limits.ALLOW_HEADER
        )
        return _Reply(405, [*route.headers, (b"content-length", b"0")])
