"""Content types from file names, decided at deploy time from a pinned table.

The host's ``mimetypes`` files (and the Windows registry) are never consulted: a
``.js`` served as ``text/plain`` because of a host table breaks ES modules
(python/cpython#88141). The table is Python's built-in one plus the overrides below.
"""

from __future__ import annotations

import mimetypes
import posixpath
from functools import lru_cache

# Modern types the stdlib table lacks or gets wrong (RFC 9239 for JavaScript).
_OVERRIDES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",  # the registered type, what Workers assets send
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".xml": "application/xml",
    ".gz": "application/gzip",
    ".zip": "application/zip",
}
DEFAULT_TYPE = "application/octet-stream"
_CHARSET = "; charset=utf-8"


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    # MimeTypes() starts from the built-in defaults only; it never reads host files.
    table = dict(mimetypes.MimeTypes().types_map[True])
    table.update(_OVERRIDES)
    return table


def content_type(path: str) -> str:
    """The ``Content-Type`` for a file name, with ``; charset=utf-8`` for text and JavaScript.

    >>> content_type("app.js")
    'text/javascript; charset=utf-8'
    """
    ext = posixpath.splitext(path)[1].lower()
    media = _table().get(ext, DEFAULT_TYPE)
    if media.startswith("text/") or media.endswith("/javascript"):
        return media + _CHARSET
    return media
