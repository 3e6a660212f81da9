"""Request path -> manifest file: decoding (§2 step 2), ``html_handling`` (step 3) and
``not_found_handling`` (step 4).

The html_handling algorithms follow Workers Static Assets' asset-worker
(``handleAutoTrailingSlash`` and friends) so every row of the spec's table holds;
a redirect is only issued when its destination resolves to the same file
("safe redirect"), and an exact file always wins over a mapping. Paths here
are decoded, NFC, start with ``/``; manifest paths are looked up as ``"/" + rel``.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Container
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"


class MalformedPath(ValueError):
    """The path has a malformed percent-escape or is not UTF-8 once decoded (400)."""


def decode_path(raw: bytes) -> str | None:
    """Decode each segment once, collapse ``//``; ``None`` when no file can match (404).

    >>> decode_path(b"/a//b%20c/")
    '/a/b c/'
    """
    if not raw.startswith(b"/"):
        return None
    parts = raw.split(b"/")
    segments: list[str] = []
    for part in parts:
        if not part:
            continue
        if _BAD_ESCAPE.search(part):
            raise MalformedPath("malformed percent-escape")
        try:
            segment = unquote_to_bytes(part).decode("utf-8")
        except UnicodeDecodeError as exc:  # overlong forms like %c0%ae land here too
            raise MalformedPath("path is not UTF-8 once decoded") from exc
        segment = unicodedata.normalize("NFC", segment)
        if segment in (".", "..") or "\x00" in segment or "\\" in segment or "/" in segment:
            return None
        segments.append(segment)
    if not segments:
        return "/"
    path = "/" + "/".join(segments)
    return path + "/" if raw.endswith(b"/") else path


def encode_path(path: str) -> str:
    """Percent-encode a decoded path per segment, for a relative ``Location``."""
    return "/".join(quote(segment, safe=_SEGMENT_SAFE) for segment in path.split("/"))


@dataclass(frozen=True, slots=True)
class Intent:
    """Serve ``path`` (a manifest path) with ``status``, or redirect to ``redirect``."""

    path: str | None = None
    status: int = 200
    redirect: str | None = None
    fallback: bool = False  # from not_found_handling, not an asset at the requested path


def _has_extension(path: str) -> bool:
    return posixpath.splitext(path.rsplit("/", 1)[-1])[1] != ""


class Resolver:
    """Maps decoded request paths to manifest paths for one manifest and its options."""

    def __init__(self, files: Container[str], html_handling: str, not_found_handling: str) -> None:
        self._files = files
        self._mode = {
            "auto-trailing-slash": self._auto,
            "force-trailing-slash": self._force,
            "drop-trailing-slash": self._drop,
            "none": self._none,
        }[html_handling]
        self._not_found_handling = not_found_handling

    def resolve(self, path: str, *, navigation: bool = False) -> Intent | None:
        """The intent for ``path``, not-found handling included (``None``: plain 404)."""
        intent = self._mode(path, False)
        if intent is not None:
            return intent
        return self._not_found(path, navigation)

    def resolve_file(self, path: str) -> str | None:
        """The file ``path`` maps to, following html_handling redirects (for rewrites)."""
        intent = self._mode(path, False)
        if intent is not None and intent.redirect is not None:
            intent = self._mode(intent.redirect, True)
        return intent.path if intent is not None else None

    # -- helpers ------------------------------------------------------------------

    def _exists(self, path: str) -> bool:
        return path in self._files

    def _asset(self, path: str) -> Intent:
        return Intent(path=path)

    def _safe(self, file: str, destination: str, skip: bool) -> Intent | None:
        """Redirect to ``destination`` only if it resolves to ``file`` itself."""
        if skip or not destination or not self._exists(file) or self._exists(destination):
            return None
        target = self._mode(destination, True)
        if target is not None and target.redirect is None and target.path == file:
            return Intent(redirect=destination)
        return None

    def _not_found(self, path: str, navigation: bool) -> Intent | None:
        mode = self._not_found_handling
        if mode == "404-page":
            cwd = path
            while cwd:
                cwd = cwd[: cwd.rfind("/")]
                page = f"{cwd}/404.html"
                if self._exists(page):
                    return Intent(path=page, status=404, fallback=True)
            return None
        if (
            mode == "single-page-application"
            and navigation
            and not _has_extension(path)
            and self._exists("/index.html")
        ):
            return Intent(path="/index.html", fallback=True)
        return None

    # -- the four modes ---------------------------------------------------------------

    def _none(self, p: str, skip: bool) -> Intent | None:
        return self._asset(p) if self._exists(p) else None

    def _auto(self, p: str, skip: bool) -> Intent | None:
        exact = self._exists(p)
        if p.endswith("/index"):
            if exact:
                return self._asset(p)
            r = self._safe(f"{p}.html", p[: -len("index")], skip) or self._safe(
                f"{p[: -len('/index')]}.html", p[: -len("/index")], skip
            )
            if r:
                return r
        elif p.endswith("/index.html"):
            r = self._safe(p, p[: -len("index.html")], skip) or self._safe(
                f"{p[: -len('/index.html')]}.html", p[: -len("/index.html")], skip
            )
            if r:
                return r
        elif p.endswith("/"):
            if self._exists(f"{p}index.html"):
                return self._asset(f"{p}index.html")
            r = self._safe(f"{p[:-1]}.html", p[:-1], skip)
            if r:
                return r
        elif p.endswith(".html"):
            r = self._safe(p, p[: -len(".html")], skip) or self._safe(
                f"{p[: -len('.html')]}/index.html", f"{p[: -len('.html')]}/", skip
            )
            if r:
                return r
        if exact:
            return self._asset(p)
        if self._exists(f"{p}.html"):
            return self._asset(f"{p}.html")
        return self._safe(f"{p}/index.html", f"{p}/", skip)

    def _force(self, p: str, skip: bool) -> Intent | None:
        exact = self._exists(p)
        if p.endswith("/index"):
            if exact:
                return self._asset(p)
            r = self._safe(f"{p}.html", p[: -len("index")], skip) or self._safe(
                f"{p[: -len('/index')]}.html", p[: -len("index")], skip
            )
            if r:
                return r
        elif p.endswith("/index.html"):
            r = self._safe(p, p[: -len("index.html")], skip) or self._safe(
                f"{p[: -len('/index.html')]}.html", p[: -len("index.html")], skip
            )
            if r:
                return r
        elif p.endswith("/"):
            if self._exists(f"{p}index.html"):
                return self._asset(f"{p}index.html")
            if p != "/" and self._exists(f"{p[:-1]}.html"):
                return self._asset(f"{p[:-1]}.html")
        elif p.endswith(".html"):
            r = self._safe(p, f"{p[: -len('.html')]}/", skip)
            if r:
                return r
            if exact:
                return self._asset(p)
            r = self._safe(f"{p[: -len('.html')]}/index.html", f"{p[: -len('.html')]}/", skip)
            if r:
                return r
        if exact:
            return self._asset(p)
        return self._safe(f"{p}.html", f"{p}/", skip) or self._safe(
            f"{p}/index.html", f"{p}/", skip
        )

    def _drop(self, p: str, skip: bool) -> Intent | None:
        exact = self._exists(p)
        if p.endswith("/index"):
            if exact:
                return self._asset(p)
            if p == "/index":
                r = self._safe("/index.html", "/", skip)
            else:
                r = self._safe(
                    f"{p[: -len('/index')]}.html", p[: -len("/index")], skip
                ) or self._safe(f"{p}.html", p[: -len("/index")], skip)
            if r:
                return r
        elif p.endswith("/index.html"):
            if p == "/index.html":
                r = self._safe("/index.html", "/", skip)
                if r:
                    return r
            else:
                r = self._safe(p, p[: -len("/index.html")], skip)
                if r:
                    return r
                if exact:
                    return self._asset(p)
                r = self._safe(f"{p[: -len('/index.html')]}.html", p[: -len("/index.html")], skip)
                if r:
                    return r
        elif p == "/":
            if self._exists("/index.html"):
                return self._asset("/index.html")
        elif p.endswith("/"):
            r = self._safe(f"{p}index.html", p[:-1], skip) or self._safe(
                f"{p[:-1]}.html", p[:-1], skip
            )
            if r:
                return r
        elif p.endswith(".html"):
            r = self._safe(p, p[: -len(".html")], skip) or self._safe(
                f"{p[: -len('.html')]}/index.html", p[: -len(".html")], skip
            )
            if r:
                return r
        if exact:
            return self._asset(p)
        if self._exists(f"{p}.html"):
            return self._asset(f"{p}.html")
        if self._exists(f"{p}/index.html"):
            return self._asset(f"{p}/index.html")
        return None
