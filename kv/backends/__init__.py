"""Store backends and ``open_store``: a new backend is one module plus one registry line."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kv.backends.base import Entry, KeyInfo, Store, StreamEntry, WriteOp

__all__ = ["Entry", "KeyInfo", "Store", "StreamEntry", "WriteOp", "open_store"]

# scheme -> "module:Class"; each class has ``from_url(url: str) -> Store`` and does no
# I/O until first use.
_REGISTRY: dict[str, str] = {
    "memory": "kv.backends.memory:MemoryStore",
    "sqlite": "kv.backends.sqlite:SQLiteStore",
    "redis": "kv.backends.redis:RedisStore",
}


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
    text, scheme = normalize_store_url(url)
    target = registry.get(scheme)
    if target is None:
        allowed = ", ".join(f"{s}://" for s in sorted(registry))
        raise ValueError(f"Unknown {what} URL {text!r}: allowed schemes are {allowed}")
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name).from_url(text)


def open_store(url: str | Path) -> Store:
    """Open a store by URL: ``memory://``, ``sqlite:///path``, ``redis://host:6379/0``,
    or a bare filesystem path (SQLite).

    >>> store = open_store("memory://")
    """
    store: Store = open_registered(_REGISTRY, url, "KV store")
    return store
