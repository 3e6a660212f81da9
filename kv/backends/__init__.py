"""Store backends and ``open_store``: a new backend is one module plus one registry line."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kv.backends.base import Entry, KeyInfo, Store, StreamEntry, WriteOp

__all__ = [
    "Entry",
    "KeyInfo",
    "Store",
    "StreamEntry",
    "WriteOp",
    "check_store_url",
    "open_store",
]

# scheme -> "module:Class"; each class has ``from_url(url: str) -> Store`` and does no
# I/O until first use, and may have a static ``check_url(url: str)`` (``ValueError``).
_REGISTRY: dict[str, str] = {
    "memory": "kv.backends.memory:MemoryStore",
    "sqlite": "kv.backends.sqlite:SQLiteStore",
    "redis": "kv.backends.redis:RedisStore",
    "rediss": "kv.backends.redis:RedisStore",
    "redis+cluster": "kv.backends.redis:RedisStore",
    "rediss+cluster": "kv.backends.redis:RedisStore",
}
#: URL schemes ``open_store`` knows (for the config's checks; not in ``__all__``).
STORE_SCHEMES = tuple(_REGISTRY)


def normalize_store_url(url: str | Path) -> tuple[str, str]:
    """(URL, scheme) of a store URL; a bare filesystem path becomes a ``sqlite:///`` URL.

    >>> normalize_store_url("data/kv.sqlite3")[1]
    'sqlite'
    """
    text = str(url)
    scheme = urlsplit(text).scheme if "://" in text else ""
    if not scheme:
        text, scheme = "sqlite:///" + str(Path(text).absolute()).lstrip("/"), "sqlite"
    return text, scheme


def open_registered(registry: Mapping[str, str], url: str | Path, what: str) -> Any:
    """``Class.from_url(url)`` of the backend ``registry`` names for the URL's scheme
    (``"module:Class"``, imported on first use); ``ValueError`` lists the schemes."""
    text, cls = registered_class(registry, url, what)
    return cls.from_url(text)


def registered_class(registry: Mapping[str, str], url: str | Path, what: str) -> tuple[str, Any]:
    """(URL, backend class) for the URL's scheme in ``registry``, no I/O."""
    text, scheme = normalize_store_url(url)
    target = registry.get(scheme)
    if target is None:
        allowed = ", ".join(f"{s}://" for s in sorted(registry))
        raise ValueError(f"Unknown {what} URL {text!r}: allowed schemes are {allowed}")
    module_name, class_name = target.split(":")
    return text, getattr(importlib.import_module(module_name), class_name)


def open_store(url: str | Path) -> Store:
    """Open a store by URL: ``memory://``, ``sqlite:///path``, ``redis://host:6379/0``,
    ``redis+cluster://host:7000,host:7001``, or a bare filesystem path (SQLite).
    ``ValueError`` for a URL that names no store or has invalid parts (no I/O).

    >>> store = open_store("memory://")
    """
    store: Store = open_registered(_REGISTRY, url, "KV store")
    return store


def check_store_url(url: str | Path) -> None:
    """Validate a store URL without opening anything: scheme, host, port, database,
    options. ``ValueError`` (one line) names the value and what is allowed.

    >>> check_store_url("redis://cache:6379/abc")
    Traceback (most recent call last):
    ValueError: Invalid Redis store URL 'redis://cache:6379/abc': database 'abc' is not ...
    """
    text, cls = registered_class(_REGISTRY, url, "KV store")
    check = getattr(cls, "check_url", None)
    if check is not None:
        check(text)
