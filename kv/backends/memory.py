"""The in-memory store: for tests and ``--ephemeral``. Nothing survives the process.

Keys of each namespace live in a ``SortedDict`` keyed by their UTF-8 bytes, so list
order is byte order (astral characters included) and a page costs O(log n + limit).
Expired entries are reclaimed lazily: each read or list of a namespace first pops
the entries whose expiration has passed from that namespace's expiry heap.

Every method runs without awaiting anything in between, so each call (a batch
included) is atomic with respect to other tasks on the loop.
"""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from sortedcontainers import SortedDict

from kv.backends.base import Buffer, Entry, KeyInfo, StoreBase, StreamEntry, WriteOp
from kv.errors import StoreUnavailable

# Stale expiry-heap items tolerated before the heap is rebuilt (beyond twice the key count).
_HEAP_SLACK = 64


@dataclass(slots=True)
class _Space:
    """One namespace: its sorted entries, a heap of (expiration, key bytes), and whether
    it was created explicitly (then it is listed even while empty)."""

    entries: SortedDict = field(default_factory=SortedDict)
    expiries: list[tuple[float, bytes]] = field(default_factory=list)
    created: bool = False


class MemoryStore(StoreBase):
    """A store that keeps everything in this process's memory.

    >>> store = open_store("memory://")   # each call: a new, empty store
    """

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._spaces: dict[str, _Space] = {}
        self._closed = False

    @classmethod
    def from_url(cls, url: str) -> MemoryStore:
        """A new, empty store (``memory://``); the rest of the URL is ignored."""
        return cls(url)

    # --- reads ----------------------------------------------------------------

    async def get(self, namespace: str, key: str, now: float) -> Entry | None:
        """The live entry of ``key``, or ``None`` when absent or expired."""
        space = self._live_space(namespace, now)
        if space is None:
            return None
        entry: Entry | None = space.entries.get(key.encode())
        return entry

    async def get_many(self, namespace: str, keys: Sequence[str], now: float) -> list[Entry | None]:
        """Live entries of ``keys`` in the same order (``None`` for missing)."""
        space = self._live_space(namespace, now)
        if space is None:
            return [None] * len(keys)
        return [space.entries.get(key.encode()) for key in keys]

    async def stream(
        self, namespace: str, key: str, now: float, chunk_size: int
    ) -> StreamEntry | None:
        """The live entry of ``key`` as chunks of at most ``chunk_size`` bytes."""
        entry = await self.get(namespace, key, now)
        if entry is None:
            return None
        return StreamEntry(
            size=len(entry.value),
            chunks=_chunks(entry.value, chunk_size),
            expiration=entry.expiration,
            metadata=entry.metadata,
        )

    async def list_keys(
        self,
        namespace: str,
        prefix: str,
        start_after: str | None,
        limit: int,
        now: float,
    ) -> list[KeyInfo]:
        """Up to ``limit`` live keys starting with ``prefix``, after ``start_after``."""
        space = self._live_space(namespace, now)
        if space is None or limit <= 0:
            return []
        low = raw_prefix = prefix.encode()
        if start_after is not None:
            low = max(low, start_after.encode())
        inclusive = start_after is None or low != start_after.encode()
        result: list[KeyInfo] = []
        for raw in space.entries.irange(minimum=low, inclusive=(inclusive, True)):
            if not raw.startswith(raw_prefix):
                break
            entry: Entry = space.entries[raw]
            result.append(KeyInfo(raw.decode(), entry.expiration, entry.metadata))
            if len(result) >= limit:
                break
        return result

    async def list_namespaces(self) -> list[str]:
        """Ids of namespaces that were created or hold keys, sorted."""
        self._ensure_open()
        return sorted(
            name for name, space in self._spaces.items() if space.created or space.entries
        )

    # --- writes ---------------------------------------------------------------

    async def put(
        self,
        namespace: str,
        key: str,
        value: Buffer,
        expiration: float | None,
        metadata: str | None,
    ) -> None:
        """Replace the whole entry of ``key``."""
        self._ensure_open()
        self._put(self._space(namespace), key.encode(), bytes(value), expiration, metadata)

    async def delete(self, namespace: str, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        self._ensure_open()
        space = self._spaces.get(namespace)
        if space is not None:
            space.entries.pop(key.encode(), None)

    async def compare_and_swap(
        self,
        namespace: str,
        key: str,
        expected: bytes | None,
        value: Buffer | None,
        now: float,
    ) -> bool:
        """Replace (or delete) ``key`` if its live value is ``expected``; atomic on the loop."""
        space = self._live_space(namespace, now)
        current: Entry | None = None if space is None else space.entries.get(key.encode())
        if (None if current is None else current.value) != expected:
            return False
        if value is None:
            await self.delete(namespace, key)
        else:
            self._put(self._space(namespace), key.encode(), bytes(value), None, None)
        return True

    async def write_batch(self, namespace: str, ops: Sequence[WriteOp]) -> None:
        """Apply every op at once: values are copied first, so nothing can fail halfway."""
        self._ensure_open()
        prepared = [
            (op.key.encode(), None if op.value is None else bytes(op.value), op) for op in ops
        ]
        space = self._space(namespace)
        for raw, value, op in prepared:
            if value is None:
                space.entries.pop(raw, None)
            else:
                self._put(space, raw, value, op.expiration, op.metadata)

    async def create_namespace(self, namespace: str) -> None:
        """Register an empty namespace (idempotent)."""
        self._ensure_open()
        self._space(namespace).created = True

    async def delete_namespace(self, namespace: str) -> None:
        """Remove a namespace and every key in it."""
        self._ensure_open()
        self._spaces.pop(namespace, None)

    # --- lifecycle ------------------------------------------------------------

    async def check(self) -> None:
        """Nothing can be damaged in memory; only a closed store fails."""
        self._ensure_open()

    async def aclose(self) -> None:
        """Drop every entry; the store is unusable afterwards."""
        self._spaces.clear()
        self._closed = True

    # --- helpers --------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"{self.url} is closed")

    def _space(self, namespace: str) -> _Space:
        space = self._spaces.get(namespace)
        if space is None:
            space = self._spaces[namespace] = _Space()
        return space

    def _live_space(self, namespace: str, now: float) -> _Space | None:
        """The namespace with every entry that expired by ``now`` reclaimed."""
        self._ensure_open()
        space = self._spaces.get(namespace)
        if space is None:
            return None
        expiries = space.expiries
        while expiries and expiries[0][0] <= now:
            expiration, raw = heapq.heappop(expiries)
            entry: Entry | None = space.entries.get(raw)
            # The heap may hold stale items for keys rewritten since; drop only a match.
            if entry is not None and entry.expiration == expiration:
                del space.entries[raw]
        return space

    @staticmethod
    def _put(
        space: _Space, raw: bytes, value: bytes, expiration: float | None, metadata: str | None
    ) -> None:
        space.entries[raw] = Entry(value, expiration, metadata)
        if expiration is not None:
            heapq.heappush(space.expiries, (expiration, raw))
            if len(space.expiries) > 2 * len(space.entries) + _HEAP_SLACK:
                # Rewrites leave stale heap items behind; rebuild so the heap stays O(n).
                space.expiries = [
                    (e.expiration, k) for k, e in space.entries.items() if e.expiration is not None
                ]
                heapq.heapify(space.expiries)


async def _chunks(value: bytes, chunk_size: int) -> AsyncIterator[bytes]:
    view = memoryview(value)
    for start in range(0, len(value), chunk_size):
        yield bytes(view[start : start + chunk_size])
