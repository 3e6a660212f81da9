"""Store backends and ``open_store``: a new backend is one module plus one registry line."""

from __future__ import annotations

import importlib
from pathlib import Path
from urllib.parse import urlsplit

from kv.backends.base import Entry, KeyInfo, Store, StreamEntry, WriteOp

__all__ = ["Entry", "KeyInfo", "Store", "StreamEntry", "WriteOp", "open_store"]

# scheme -> "module:Class"; each class has ``from_url(url: str) -> Store`` and does no
# I/O until first use.
_REGISTRY: dict[str, str] = {
    "memory": "kv.backends.memory:MemoryStore",
    "sqlite": "kv.backends.sqlite:SQLiteStore",
    "redis": "kv.backends.redis:RedisStore",
    "rediss": "kv.backends.redis:RedisStore",
    "redis+cluster": "kv.backends.redis:RedisStore",
    "rediss+cluster": "kv.backends.redis:RedisStore",
}


def open_store(url: str | Path) -> Store:
    """Open a store by URL: ``memory://``, ``sqlite:///path``, ``redis://host:6379/0``,
    or a bare filesystem path (SQLite).

    >>> store = open_store("memory://")
    """
    text = str(url)
    scheme = urlsplit(text).scheme if "://" in text else ""
    if not scheme:
        text, scheme = "sqlite:///" + str(Path(text).absolute()).lstrip("/"), "sqlite"
    target = _REGISTRY.get(scheme)
    if target is None:
        allowed = ", ".join(f"{s}://" for s in sorted(_REGISTRY))
        raise ValueError(f"Unknown KV store URL {text!r}: allowed schemes are {allowed}")
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    store: Store = cls.from_url(text)
    return store
