"""The edge cache: one per location (each ``edgeworks serve`` process, each simulated
``dev --locations`` location), shared by every namespace of that location.

Workers KV semantics (spec/kv.md §4): reads fill the cache with the value or with
"not found" for ``cache_ttl`` seconds; a later read with a smaller ``cache_ttl``
shortens how long the cached copy may be used; expiration always wins; the
writing location sees its own writes at once. Bounded by a byte budget with LRU
eviction. Time comes from the injected clock.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from kv.backends.base import Entry
from kv.limits import CACHE_ENTRY_OVERHEAD_BYTES, DEFAULT_CACHE_MAX_BYTES


@dataclass(frozen=True, slots=True)
class CachedRead:
    """A cache hit: ``entry`` is ``None`` when "not found" was cached."""

    entry: Entry | None


@dataclass(slots=True)
class _Slot:
    entry: Entry | None
    filled_at: float
    size: int


class EdgeCache:
    """A location's read cache.

    >>> cache = EdgeCache(max_bytes=64 * 1024 * 1024)
    >>> ns = KVNamespace(store, "id", cache=cache)   # reads now report cache_status
    """

    def __init__(self, *, max_bytes: int = DEFAULT_CACHE_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._slots: OrderedDict[tuple[str, str], _Slot] = OrderedDict()
        self._bytes = 0

    def lookup(self, namespace: str, key: str, now: float, cache_ttl: float) -> CachedRead | None:
        """The cached read of ``key`` if younger than ``cache_ttl`` seconds, else ``None``."""
        slot = self._slots.get((namespace, key))
        if slot is None:
            return None
        if now - slot.filled_at >= cache_ttl:
            return None
        entry = slot.entry
        if entry is not None and entry.expiration is not None and entry.expiration <= now:
            # Expiration wins over the cache: the key is gone, cache that instead.
            self._store(namespace, key, None, slot.filled_at)
            return CachedRead(None)
        self._slots.move_to_end((namespace, key))
        return CachedRead(entry)

    def fill(self, namespace: str, key: str, entry: Entry | None, now: float) -> None:
        """Remember what a read from the store returned (a value or "not found")."""
        self._store(namespace, key, entry, now)

    def wrote(self, namespace: str, key: str, entry: Entry | None, now: float) -> None:
        """This location wrote ``key`` (``None``: deleted): it reads its own write at once."""
        self._store(namespace, key, entry, now)

    def invalidate(self, namespace: str, key: str) -> None:
        """Drop the cached copy of ``key`` (another location wrote it)."""
        slot = self._slots.pop((namespace, key), None)
        if slot is not None:
            self._bytes -= slot.size

    def clear(self) -> None:
        self._slots.clear()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._slots)

    def _store(self, namespace: str, key: str, entry: Entry | None, now: float) -> None:
        self.invalidate(namespace, key)
        size = CACHE_ENTRY_OVERHEAD_BYTES + len(key.encode())
        if entry is not None:
            size += len(entry.value) + len(entry.metadata or "")
        if size > self.max_bytes:
            return
        self._slots[(namespace, key)] = _Slot(entry, now, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, evicted = self._slots.popitem(last=False)
            self._bytes -= evicted.size
