"""A manifest compiled for serving: the serving steps of docs/sites.md up to the file, and the headers.

``_redirects`` -> per-segment decoding -> html_handling -> not_found_handling, then
the response headers with ``_headers`` applied. All of it depends only on the
request path (and, in SPA mode, on whether the request is a navigation), so each
outcome is remembered in a bounded route table: a repeated path costs one dict
lookup. ``AssetHandler`` (handler.py) adds methods, conditionals, ranges and bodies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sites import limits
from sites._resolve import Intent, MalformedPath, Resolver, decode_path, encode_path
from sites._rules import HeaderRules, RedirectRules
from sites.manifest import Manifest, ManifestEntry

Headers = list[tuple[bytes, bytes]]

ASSET, REDIRECT, NOT_FOUND, BAD, TOO_LONG = range(5)
_NOSNIFF = "nosniff"


@dataclass(slots=True)
class Route:
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


class Site:
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
        self.routes: dict[tuple[bytes, bool], Route] = {}

    def route(self, raw: bytes, navigation: bool) -> Route:
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

    def plain(self, rule_path: str, kind: int, status: int, **extra: str) -> Route:
        headers = {"x-content-type-options": _NOSNIFF, **extra}
        return Route(kind, status, self.finish(rule_path, headers))

    def _build(self, raw: bytes, navigation: bool) -> Route:
        rule_path = raw.decode("utf-8", "replace")
        if len(raw) > limits.MAX_REQUEST_PATH_BYTES:
            return self.plain(rule_path, TOO_LONG, 414)
        target = raw
        rewritten = False
        match = self.redirects.match(rule_path) if self.redirects else None
        if match is not None:
            if match.status != 200:
                location = _safe_location(match.target)
                headers = {"location": location, "x-content-type-options": _NOSNIFF}
                return Route(
                    REDIRECT,
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
            return self.plain(rule_path, BAD, 400)
        if path is None:
            return self.plain(rule_path, NOT_FOUND, 404)
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
            return self.plain(rule_path, NOT_FOUND, 404)
        if intent.redirect is not None:
            location = encode_path(intent.redirect)
            headers = {"location": location, "x-content-type-options": _NOSNIFF}
            return Route(
                REDIRECT,
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
        return Route(
            ASSET,
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
