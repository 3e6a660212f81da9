"""The manifest: what a deployed version of a site is, and the pointer to the live one.

Both live in the site's ``__STATIC_CONTENT`` namespace under reserved keys that
cannot collide with hashed asset keys (an asset key's last segment always holds
``.<hash10>``; these have no dot)::

    __edgeworks/manifest/current   {"version": 7, "published": [7, 6, 5, ...]}
    __edgeworks/manifest/v7        the manifest of version 7 (JSON, see Manifest.to_json)

A deploy writes every asset, then ``v<N>``, then switches ``current`` in one write,
so a reader sees the old site or the new one, never a mix. ``published`` lists
versions that were live, newest first: the last ``keep`` of them decide which
assets survive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sites import limits

if TYPE_CHECKING:
    from kv import KVNamespace


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file: its hashed KV key, size in bytes, content type and ETag hash."""

    key: str
    size: int
    content_type: str
    etag: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """A deployed version: files by relative path, serving options and rules."""

    version: int
    files: dict[str, ManifestEntry]
    html_handling: str = limits.DEFAULT_HTML_HANDLING
    not_found_handling: str = limits.DEFAULT_NOT_FOUND_HANDLING
    cache_control: str = limits.DEFAULT_CACHE_CONTROL
    headers: list[dict[str, Any]] = field(default_factory=list)
    redirects: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    keep: int = limits.DEFAULT_KEEP

    def to_json(self) -> str:
        """Compact JSON; ``files`` maps path -> ``[key, size, content type, etag]``."""
        return json.dumps(
            {
                "format": limits.MANIFEST_FORMAT,
                "version": self.version,
                "files": {
                    path: [e.key, e.size, e.content_type, e.etag]
                    for path, e in sorted(self.files.items())
                },
                "html_handling": self.html_handling,
                "not_found_handling": self.not_found_handling,
                "cache_control": self.cache_control,
                "headers": self.headers,
                "redirects": self.redirects,
                "warnings": self.warnings,
                "keep": self.keep,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse what ``to_json`` wrote."""
        data = json.loads(text)
        return cls(
            version=int(data["version"]),
            files={
                str(path): ManifestEntry(str(v[0]), int(v[1]), str(v[2]), str(v[3]))
                for path, v in data["files"].items()
            },
            html_handling=str(data.get("html_handling", limits.DEFAULT_HTML_HANDLING)),
            not_found_handling=str(
                data.get("not_found_handling", limits.DEFAULT_NOT_FOUND_HANDLING)
            ),
            cache_control=str(data.get("cache_control", limits.DEFAULT_CACHE_CONTROL)),
            headers=list(data.get("headers", [])),
            redirects=dict(data.get("redirects", {})),
            warnings=list(data.get("warnings", [])),
            keep=int(data.get("keep", limits.DEFAULT_KEEP)),
        )

    def same_site(self, other: Manifest) -> bool:
        """True when ``other`` serves exactly the same thing (version aside)."""
        return replace(other, version=self.version, warnings=self.warnings) == self

    @property
    def keys(self) -> set[str]:
        """The hashed KV keys this version uses."""
        return {entry.key for entry in self.files.values()}


@dataclass(frozen=True, slots=True)
class Pointer:
    """The current-manifest pointer: the live version and the versions live before it."""

    version: int
    published: tuple[int, ...]

    def to_json(self) -> str:
        """``{"version": N, "published": [N, ...]}``."""
        return json.dumps({"version": self.version, "published": list(self.published)})

    @classmethod
    def from_json(cls, text: str) -> Pointer:
        """Parse what ``to_json`` wrote."""
        data = json.loads(text)
        version = int(data["version"])
        published = tuple(int(v) for v in data.get("published", [version]))
        return cls(version, published or (version,))

    def publish(self, version: int) -> Pointer:
        """The pointer after ``version`` goes live."""
        history = (version, *(v for v in self.published if v != version))
        return Pointer(version, history[: limits.PUBLISHED_HISTORY])


def manifest_key(version: int) -> str:
    """The reserved key of manifest ``version``: ``__edgeworks/manifest/v<version>``."""
    return f"{limits.MANIFEST_KEY_PREFIX}{version}"


def version_of_key(key: str) -> int | None:
    """The version of a manifest key, or ``None`` for any other key."""
    if not key.startswith(limits.MANIFEST_KEY_PREFIX):
        return None
    digits = key[len(limits.MANIFEST_KEY_PREFIX) :]
    return int(digits) if digits.isdigit() else None


async def read_pointer(namespace: KVNamespace) -> Pointer | None:
    """The live pointer, or ``None`` before the first deploy. Read it around the edge cache."""
    text = await namespace.get(limits.MANIFEST_POINTER_KEY)
    return None if text is None else Pointer.from_json(text)


async def read_manifest(namespace: KVNamespace, version: int) -> Manifest | None:
    """Manifest ``version``, or ``None`` when it is not (or no longer) stored."""
    text = await namespace.get(manifest_key(version))
    return None if text is None else Manifest.from_json(text)


async def current_manifest(namespace: KVNamespace) -> Manifest | None:
    """The live manifest (read around the edge cache), or ``None`` before the first deploy."""
    direct = namespace.without_cache()
    pointer = await read_pointer(direct)
    if pointer is None:
        return None
    return await read_manifest(direct, pointer.version)


# In-process deploy generation: a handler re-reads the pointer at once when it changes,
# so a deploy made by this process is live here on the next request (the dev server).
_generation = 0


def deploy_generation() -> int:
    """How many deploys this process has published."""
    return _generation


def bump_generation() -> None:
    """Record that this process published a deploy."""
    global _generation
    _generation += 1
