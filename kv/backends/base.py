"""The store protocol: a handful of primitives over bytes, expiry and metadata.

``KVNamespace`` owns validation, encoding, expiry rules and caching; a store only
keeps bytes. Every method takes the namespace id, so one store holds many
isolated namespaces. ``now`` is the namespace's clock: a store never returns an
entry whose ``expiration <= now`` and never drops one that ``now`` still
considers live.

Keys are ``str``; order is by their UTF-8 bytes. Values are passed as any
buffer (``bytes``, ``bytearray``, ``memoryview``) and returned as ``bytes``.
Metadata is the compact JSON text the namespace produced (or ``None``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol, Self, runtime_checkable

Buffer = bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored value with its expiration (absolute epoch seconds) and metadata JSON."""

    value: bytes
    expiration: float | None = None
    metadata: str | None = None


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """A value read as chunks, for ``get(type="stream")`` of large values."""

    size: int
    chunks: AsyncIterator[bytes]
    expiration: float | None = None
    metadata: str | None = None


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """One key of a list page."""

    name: str
    expiration: float | None = None
    metadata: str | None = None


@dataclass(frozen=True, slots=True)
class WriteOp:
    """One write of a batch: ``value is None`` deletes the key."""

    key: str
    value: Buffer | None
    expiration: float | None = None
    metadata: str | None = None


@runtime_checkable
class Store(Protocol):
    """What a KV backend implements. See module docstring for the rules."""

    #: The URL the store was opened with, for banners and error messages.
    url: str

    async def get(self, namespace: str, key: str, now: float) -> Entry | None:
        """The live entry of ``key``, or ``None`` when absent or expired."""
        ...

    async def get_many(self, namespace: str, keys: Sequence[str], now: float) -> list[Entry | None]:
        """Live entries of ``keys`` in the same order (``None`` for missing)."""
        ...

    async def stream(
        self, namespace: str, key: str, now: float, chunk_size: int
    ) -> StreamEntry | None:
        """The live entry of ``key`` as chunks of at most ``chunk_size`` bytes."""
        ...

    async def put(
        self,
        namespace: str,
        key: str,
        value: Buffer,
        expiration: float | None,
        metadata: str | None,
    ) -> None:
        """Replace the whole entry; durable when this returns."""
        ...

    async def delete(self, namespace: str, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        ...

    async def write_batch(self, namespace: str, ops: Sequence[WriteOp]) -> None:
        """Apply every op in one transaction (or pipeline): all or nothing."""
        ...

    async def list_keys(
        self,
        namespace: str,
        prefix: str,
        start_after: str | None,
        limit: int,
        now: float,
    ) -> list[KeyInfo]:
        """Up to ``limit`` live keys starting with ``prefix`` and ordered after
        ``start_after`` (exclusive) by UTF-8 bytes. O(log n + limit)."""
        ...

    async def list_namespaces(self) -> list[str]:
        """Ids of namespaces that were created or hold keys, sorted."""
        ...

    async def create_namespace(self, namespace: str) -> None:
        """Register an empty namespace (idempotent)."""
        ...

    async def delete_namespace(self, namespace: str) -> None:
        """Remove a namespace and every key in it."""
        ...

    async def check(self) -> None:
        """A quick health check; raises ``StoreCorrupt`` or ``StoreUnavailable``."""
        ...

    async def aclose(self) -> None:
        """Release connections and files. The store is unusable afterwards."""
        ...


class StoreBase:
    """What every backend shares: ``async with store:`` closes it on exit
    (stores are async context managers)."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
