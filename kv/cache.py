"""The edge cache: one per location (each ``edgeworks serve`` process, each simulated
``dev --locations`` location), shared by every namespace of that location.

Workers KV semantics (docs/kv.md, "The edge cache"): reads fill the cache with the value or with
"not found" for ``cache_ttl`` seconds; a later read with a smaller ``cache_ttl``
shortens how long the cached copy may be used (a larger one does not lengthen
it); expiration always wins; the writing location sees its own writes at once.
Bounded by a byte budget with LRU eviction. Time comes from the injected clock.

A read that misses goes to the store and then fills the cache. If the key is
written here (``wrote``) or elsewhere (``invalidate``, from pub/sub) while that
read is in flight, its fill is dropped: the store reply may predate the write,
and caching it would hide the write for ``cache_ttl``. Reads are matched to
their fill by the asyncio task that made them (``KVNamespace`` calls ``lookup``
and ``fill`` from the same task).
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections import OrderedDict
from dataclasses import dataclass

from kv.backends.base import Entry
from kv.limits import CACHE_ENTRY_OVERHEAD_BYTES, CACHE_PENDING_READS_MAX, DEFAULT_CACHE_MAX_BYTES
from kv.stats import KV_STATS

_Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class CachedRead:
    """A cache hit: ``entry`` is ``None`` when "not found" was cached."""

    entry: Entry | None


#: The hit of a cached "not found" (shared: a ``CachedRead`` is immutable).
_NOT_FOUND = CachedRead(None)


@dataclass(slots=True)
class _Slot:
    # The hit is built once per fill, not per lookup: lookups are the hot path and a
    # frozen dataclass costs ~0.4 us to construct.
    read: CachedRead
    filled_at: float
    expires_at: float  # filled_at + the cache_ttl of the read that filled it
    size: int


@dataclass(frozen=True, slots=True)
class _Miss:
    seq: int  # change counter when the read missed
    cache_ttl: float


class EdgeCache:
    """A location's read cache.

    >>> cache = EdgeCache(max_bytes=64 * 1024 * 1024)
    >>> ns = KVNamespace(store, "id", cache=cache)   # reads now report cache_status
    """

    def __init__(self, *, max_bytes: int = DEFAULT_CACHE_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._slots: OrderedDict[_Key, _Slot] = OrderedDict()
        self._bytes = 0
        # Change tracking, so a fill can tell whether its key changed since its miss.
        self._seq = 0
        self._changes: OrderedDict[_Key, int] = OrderedDict()  # key -> seq of last change
        self._forgotten_seq = 0  # highest seq dropped from _changes (bounded table)
        self._namespace_changes: dict[str, int] = {}
        self._cleared_seq = 0
        self._misses: weakref.WeakKeyDictionary[asyncio.Task[object], dict[_Key, _Miss]] = (
            weakref.WeakKeyDictionary()
        )

    # --- reads ----------------------------------------------------------------

    def lookup(self, namespace: str, key: str, now: float, cache_ttl: float) -> CachedRead | None:
        """The cached read of ``key`` if younger than ``cache_ttl`` seconds, else ``None``.

        On ``None`` the caller reads the store and calls :meth:`fill`.
        """
        cached = (namespace, key)
        slot = self._slots.get(cached)
        if slot is not None and (now - slot.filled_at >= cache_ttl or now >= slot.expires_at):
            # Too old for this read: a smaller cache_ttl shortens the copy's life for good.
            self._drop(cached)
            slot = None
        if slot is None:
            KV_STATS.cache_misses += 1
            self._note_miss(cached, cache_ttl)
            return None
        KV_STATS.cache_hits += 1
        read = slot.read
        entry = read.entry
        if entry is not None and entry.expiration is not None and entry.expiration <= now:
            # Expiration wins over the cache: the key is gone, cache that instead.
            self._put_slot(cached, None, slot.filled_at, slot.expires_at)
            return _NOT_FOUND
        self._slots.move_to_end(cached)
        return read

    def fill(
        self,
        namespace: str,
        key: str,
        entry: Entry | None,
        now: float,
        *,
        cache_ttl: float | None = None,
    ) -> None:
        """Remember what a read from the store returned (a value or "not found").

        ``cache_ttl`` defaults to the one the read passed to :meth:`lookup`. The fill
        is skipped if the key was written or invalidated since that lookup missed.
        """
        miss = self._take_miss((namespace, key))
        if miss is not None:
            if self._changed_since(namespace, key, miss.seq):
                return
            if cache_ttl is None:
                cache_ttl = miss.cache_ttl
        expires_at = now + cache_ttl if cache_ttl is not None else math.inf
        self._put_slot((namespace, key), entry, now, expires_at)

    # --- changes --------------------------------------------------------------

    def wrote(self, namespace: str, key: str, entry: Entry | None, now: float) -> None:
        """This location wrote ``key`` (``None``: deleted): it reads its own write at once."""
        self._note_change((namespace, key))
        self._put_slot((namespace, key), entry, now, math.inf)

    def invalidate(self, namespace: str, key: str) -> None:
        """Drop the cached copy of ``key`` (another location wrote it)."""
        self._note_change((namespace, key))
        if (namespace, key) in self._slots:
            KV_STATS.cache_invalidations += 1
        self._drop((namespace, key))

    def invalidate_namespace(self, namespace: str) -> None:
        """Drop every cached key of ``namespace`` (it was deleted elsewhere)."""
        self._seq += 1
        self._namespace_changes[namespace] = self._seq
        dropped = [k for k in self._slots if k[0] == namespace]
        KV_STATS.cache_invalidations += len(dropped)
        for cached in dropped:
            self._drop(cached)

    def clear(self) -> None:
        """Drop everything (e.g. after missed invalidations); reads in flight won't fill."""
        self._seq += 1
        self._cleared_seq = self._seq
        KV_STATS.cache_invalidations += len(self._slots)
        self._slots.clear()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        """Bytes currently counted against ``max_bytes``."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._slots)

    # --- internals ------------------------------------------------------------

    def _note_miss(self, cached: _Key, cache_ttl: float) -> None:
        task = asyncio.current_task() if _loop_running() else None
        if task is not None:
            self._misses.setdefault(task, {})[cached] = _Miss(self._seq, cache_ttl)

    def _take_miss(self, cached: _Key) -> _Miss | None:
        task = asyncio.current_task() if _loop_running() else None
        if task is None:
            return None
        misses = self._misses.get(task)
        if not misses:
            return None
        miss = misses.pop(cached, None)
        if not misses:
            del self._misses[task]
        return miss

    def _note_change(self, cached: _Key) -> None:
        self._seq += 1
        self._changes[cached] = self._seq
        self._changes.move_to_end(cached)
        while len(self._changes) > CACHE_PENDING_READS_MAX:
            _, seq = self._changes.popitem(last=False)
            self._forgotten_seq = max(self._forgotten_seq, seq)

    def _changed_since(self, namespace: str, key: str, seq: int) -> bool:
        if self._cleared_seq > seq or self._namespace_changes.get(namespace, 0) > seq:
            return True
        last = self._changes.get((namespace, key))
        if last is not None:
            return last > seq
        # Not in the bounded table: changed after the miss only if forgotten since.
        return self._forgotten_seq > seq

    def _drop(self, cached: _Key) -> None:
        slot = self._slots.pop(cached, None)
        if slot is not None:
            self._bytes -= slot.size

    def _put_slot(
        self, cached: _Key, entry: Entry | None, filled_at: float, expires_at: float
    ) -> None:
        self._drop(cached)
        size = CACHE_ENTRY_OVERHEAD_BYTES + len(cached[1].encode())
        if entry is not None:
            size += len(entry.value) + len((entry.metadata or "").encode())
        if size > self.max_bytes:
            return
        read = _NOT_FOUND if entry is None else CachedRead(entry)
        self._slots[cached] = _Slot(read, filled_at, expires_at, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, evicted = self._slots.popitem(last=False)
            self._bytes -= evicted.size


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
