"""The Redis store: many processes and hosts share one Redis (or one Redis Cluster).

Layout, per namespace ``ns`` (``tag`` is ``ns`` percent-encoded so it never holds
``{``, ``}`` or ``:``; the braces make it a Redis Cluster hash tag, so every key of
one namespace lives in one slot and its scripts and MULTI stay legal)::

    ew:{tag}:k:<key>    hash     v = value (up to REDIS_INLINE_MAX_BYTES) or b = blob id,
                                 e = expiration ("" for none), m = metadata JSON (absent for none)
    ew:{tag}:b:<id>     string   a large value; never modified, so GETRANGE streams it safely
    ew:{tag}:idx        zset     every key, score 0: ZRANGEBYLEX pages in UTF-8 byte order
    ew:namespaces       set      namespace registry (outside the namespace slots)

A read of a small value is one ``HMGET`` (atomic by itself). A write is one Lua
script (kv/backends/_redis_scripts.py) that replaces the whole entry atomically,
pipelined with the registry ``SADD`` and the invalidation ``PUBLISH`` in one round
trip; ``write_batch`` wraps its scripts in one MULTI, so no reader sees half a batch.

On a Redis Cluster (``redis+cluster://``) the layout is the same: each namespace is
one hash slot, so its scripts, pipelines and MULTI stay on one node. Invalidations
go over sharded pub/sub on ``ew:{tag}:inv`` (``SPUBLISH``, the namespace's slot, in
the same MULTI as the write); the registry ``SADD`` lives in another slot, so a
batch sends it after its MULTI. The cluster client follows ``MOVED``/``ASK`` and
refreshes its slot map after a failover; what it cannot finish in its retries is
``StoreUnavailable``, never a wrong answer (every read and write names its slot).
Writes are SET-style and idempotent, so redis-py's retry after a dropped connection
cannot double-apply anything. A replaced large value stays readable for
``REDIS_BLOB_GRACE`` seconds so a stream in progress finishes with the value it began.

Expiry: reads filter with the namespace's ``now``. Redis also gets a native
``PEXPIREAT`` at ``expiration + REDIS_NATIVE_TTL_MARGIN`` so space is reclaimed
without reads; the margin absorbs clock skew between hosts and Redis. When
``expiration`` is already past in wall-clock time (a fake clock running behind),
no native TTL is set: Redis would delete the key at once while the namespace
still considers it live. Expired entries are removed lazily (and only once the
wall clock agrees) when a read or a list meets them.

Connections: at most ``max_connections`` calls of one store are in flight; more
wait for a free connection up to ``pool_timeout`` (kv/backends/redis_client.py).

Outages: connection errors, timeouts, ``LOADING``, ``MISCONF`` and ``READONLY``
replies become ``StoreUnavailable`` within about ``REDIS_CONNECT_TIMEOUT`` +
``REDIS_SOCKET_TIMEOUT``; the connection pool reconnects on its own afterwards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from kv.backends import _redis_scripts as scripts
from kv.backends.base import Buffer, Entry, KeyInfo, StoreBase, StreamEntry, WriteOp
from kv.backends.redis_client import RedisConnection, RedisURL, parse_redis_url
from kv.errors import StoreUnavailable
from kv.invalidation import encode_invalidation
from kv.limits import (
    INVALIDATION_CHANNEL,
    INVALIDATION_SHARD_SUFFIX,
    REDIS_BLOB_GRACE,
    REDIS_DELETE_BATCH,
    REDIS_INLINE_MAX_BYTES,
    REDIS_LIST_BATCH_MIN,
    REDIS_NATIVE_TTL_MARGIN,
)

if TYPE_CHECKING:
    from redis.asyncio.client import PubSub

REGISTRY_KEY = b"ew:namespaces"
_FIELDS = ("v", "b", "e", "m")  # HMGET order of an entry hash
_GRACE_MS = str(REDIS_BLOB_GRACE * 1000).encode()

_Raw = list[bytes | None]  # an HMGET reply of _FIELDS


def namespace_prefix(namespace: str) -> bytes:
    """The key prefix of ``namespace``, including its Redis Cluster hash tag."""
    return b"ew:{" + quote(namespace, safe="").encode() + b"}:"


def _parse_expiration(raw: bytes | None) -> float | None:
    return float(raw) if raw else None


def _native_expire_ms(expiration: float | None) -> int | None:
    """Absolute ms for PEXPIREAT, or ``None`` when Redis must not expire the key."""
    if expiration is None or expiration <= time.time():
        return None
    return int((expiration + REDIS_NATIVE_TTL_MARGIN) * 1000)


def _lex_range(prefix: str, start_after: str | None) -> tuple[bytes, bytes]:
    """ZRANGEBYLEX bounds for keys starting with ``prefix`` after ``start_after``.

    UTF-8 never contains the byte 0xFF, so ``prefix + b"\\xff"`` is above every key
    that starts with ``prefix``.
    """
    low_prefix = prefix.encode()
    low = b"[" + low_prefix
    if start_after is not None and start_after.encode() >= low_prefix:
        low = b"(" + start_after.encode()
    high = b"(" + low_prefix + b"\xff" if low_prefix else b"+"
    return low, high


class RedisStore(StoreBase):
    """A KV store on Redis: ``redis://host:port/db`` (also ``rediss://``), or on a Redis
    Cluster: ``redis+cluster://host:port,host:port`` (also ``rediss+cluster://``).

    >>> store = RedisStore.from_url("redis://127.0.0.1:6379/0")   # no I/O yet
    >>> await store.put("ns", "k", b"v", None, None)
    """

    def __init__(self, url: str | RedisURL) -> None:
        self._conn = RedisConnection(url)
        #: The URL for banners and messages, with any password masked.
        self.url = self._conn.url
        #: True on a Redis Cluster: invalidations use sharded pub/sub per namespace.
        self.sharded = self._conn.cluster
        #: Identifies this store (this location) in invalidation messages it publishes.
        self.origin = uuid.uuid4().hex

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """Validate the URL and open lazily: the first command connects."""
        return cls(parse_redis_url(url))

    @staticmethod
    def check_url(url: str) -> None:
        """``ValueError`` naming what is wrong with ``url`` (no I/O)."""
        parse_redis_url(url)

    # --- connection -----------------------------------------------------------

    def pubsub(self) -> PubSub:
        """A pub/sub connection on this store's Redis (for ``kv.invalidation``); it
        delivers subscribe confirmations too, which mark each (re)subscription."""
        return cast("PubSub", self._conn.client().pubsub())

    def invalidation_channel(self, namespace: str) -> bytes:
        """Where writes to ``namespace`` are announced: the shared channel on one Redis,
        the namespace's own sharded channel (its slot) on a cluster."""
        if self.sharded:
            return namespace_prefix(namespace) + INVALIDATION_SHARD_SUFFIX
        return INVALIDATION_CHANNEL.encode()

    def _announce(self, pipe: Any, namespace: str, keys: Sequence[str] | None) -> None:
        message = encode_invalidation(self.origin, namespace, keys)
        if self.sharded:
            # execute_command: cluster pipelines of redis-py < 8 have no spublish().
            pipe.execute_command("SPUBLISH", self.invalidation_channel(namespace), message)
        else:
            pipe.publish(INVALIDATION_CHANNEL, message)

    # --- reads ----------------------------------------------------------------

    async def get(self, namespace: str, key: str, now: float) -> Entry | None:
        prefix = namespace_prefix(namespace)
        async with self._conn.command() as client:
            raw = cast(_Raw, await client.hmget(prefix + b"k:" + key.encode(), _FIELDS))
        return (await self._entries(namespace, [key], [raw], now))[0]

    async def get_many(self, namespace: str, keys: Sequence[str], now: float) -> list[Entry | None]:
        prefix = namespace_prefix(namespace)
        async with self._conn.command() as client:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(prefix + b"k:" + key.encode(), _FIELDS)
            raws = await pipe.execute()
        return await self._entries(namespace, keys, raws, now)

    async def _entries(
        self,
        namespace: str,
        keys: Sequence[str],
        raws: Sequence[_Raw],
        now: float,
        retry: bool = True,
    ) -> list[Entry | None]:
        """Entries from HMGET replies; large values fetched in one more round trip."""
        result: list[Entry | None] = []
        blobs: list[int] = []
        expired: list[tuple[str, bytes | None]] = []
        for index, (key, (value, blob, raw_e, raw_m)) in enumerate(zip(keys, raws, strict=True)):
            expiration = _parse_expiration(raw_e)
            if raw_e is None or (expiration is not None and expiration <= now):
                if raw_e is not None:
                    expired.append((key, raw_e))
                result.append(None)
                continue
            metadata = raw_m.decode() if raw_m is not None else None
            result.append(Entry(value or b"", expiration, metadata))
            if blob is not None:
                blobs.append(index)
        await self._reclaim(namespace, expired)
        if blobs:
            prefix = namespace_prefix(namespace)
            async with self._conn.command() as client:
                pipe = client.pipeline(transaction=False)
                for index in blobs:
                    pipe.get(prefix + b"b:" + cast(bytes, raws[index][1]))
                values = await pipe.execute()
            for index, value in zip(blobs, values, strict=True):
                entry = result[index]
                assert entry is not None
                if value is None:  # expired natively or replaced long ago: read it again
                    if not retry:
                        raise StoreUnavailable(f"{self.url}: value of {keys[index]!r} vanished")
                    async with self._conn.command() as client:
                        again = cast(
                            _Raw,
                            await client.hmget(prefix + b"k:" + keys[index].encode(), _FIELDS),
                        )
                    [result[index]] = await self._entries(
                        namespace, [keys[index]], [again], now, retry=False
                    )
                else:
                    result[index] = Entry(value, entry.expiration, entry.metadata)
        return result

    async def stream(
        self, namespace: str, key: str, now: float, chunk_size: int
    ) -> StreamEntry | None:
        prefix = namespace_prefix(namespace)
        async with self._conn.command() as client:
            raw = cast(_Raw, await client.hmget(prefix + b"k:" + key.encode(), _FIELDS))
        value, blob, raw_e, raw_m = raw
        expiration = _parse_expiration(raw_e)
        if raw_e is None or (expiration is not None and expiration <= now):
            if raw_e is not None:
                await self._reclaim(namespace, [(key, raw_e)])
            return None
        metadata = raw_m.decode() if raw_m is not None else None
        if blob is None:  # small: already here
            data = value or b""
            return StreamEntry(len(data), _slices(data, chunk_size), expiration, metadata)
        blob_key = prefix + b"b:" + blob
        async with self._conn.command() as client:
            size = int(await client.strlen(blob_key))
        if size == 0:  # a blob is never empty: it is gone (see _entries)
            raise StoreUnavailable(f"{self.url}: value of {key!r} vanished")
        return StreamEntry(
            size, self._blob_chunks(blob_key, size, chunk_size), expiration, metadata
        )

    async def _blob_chunks(
        self, blob_key: bytes, size: int, chunk_size: int
    ) -> AsyncIterator[bytes]:
        offset = 0
        while offset < size:
            # One permit per chunk: a slow reader of a stream holds no connection.
            async with self._conn.command() as client:
                chunk = cast(
                    bytes, await client.getrange(blob_key, offset, offset + chunk_size - 1)
                )
            if not chunk:  # outlived REDIS_BLOB_GRACE after a replace: never loop forever
                raise StoreUnavailable(f"{self.url}: value replaced while streaming")
            yield chunk
            offset += len(chunk)

    async def list_keys(
        self,
        namespace: str,
        prefix: str,
        start_after: str | None,
        limit: int,
        now: float,
    ) -> list[KeyInfo]:
        ns_prefix = namespace_prefix(namespace)
        index = ns_prefix + b"idx"
        low, high = _lex_range(prefix, start_after)
        batch = max(limit, REDIS_LIST_BATCH_MIN)
        found: list[KeyInfo] = []
        while len(found) < limit:
            async with self._conn.command() as client:
                members = cast(list[bytes], await client.zrangebylex(index, low, high, 0, batch))
                if not members:
                    break
                pipe = client.pipeline(transaction=False)
                for member in members:
                    pipe.hmget(ns_prefix + b"k:" + member, ["e", "m"])
                metas = await pipe.execute()
            expired: list[tuple[str, bytes | None]] = []
            for member, (raw_e, raw_m) in zip(members, metas, strict=True):
                expiration = _parse_expiration(raw_e)
                if raw_e is None or (expiration is not None and expiration <= now):
                    expired.append((member.decode(), raw_e))
                    continue
                metadata = raw_m.decode() if raw_m is not None else None
                found.append(KeyInfo(member.decode(), expiration, metadata))
                if len(found) == limit:
                    break
            await self._reclaim(namespace, expired)
            if len(members) < batch:
                break
            low = b"(" + members[-1]
        return found

    async def _reclaim(self, namespace: str, found: Sequence[tuple[str, bytes | None]]) -> None:
        """Lazily remove expired (or vanished) entries, ``(key, e as read)`` pairs, in
        one round trip — only those whose expiration wall time agrees with."""
        wall = time.time()
        stale = [(k, e) for k, e in found if (_parse_expiration(e) or 0.0) <= wall]
        if not stale:
            return  # a fake clock ran ahead: other readers may still see them live
        prefix = namespace_prefix(namespace)
        async with self._conn.command() as client:
            pipe = client.pipeline(transaction=False)
            for key, raw_e in stale:
                member = key.encode()
                pipe.eval(
                    scripts.RECLAIM,
                    2,
                    prefix + b"k:" + member,
                    prefix + b"idx",
                    member,
                    raw_e or b"",
                    prefix + b"b:",
                    _GRACE_MS,
                )
            await pipe.execute()

    # --- writes ---------------------------------------------------------------

    def _queue_write(self, pipe: Any, prefix: bytes, op: WriteOp) -> None:
        member = op.key.encode()
        blob_id = b""
        large = op.value is not None and len(op.value) > REDIS_INLINE_MAX_BYTES
        if large:
            blob_id = uuid.uuid4().hex.encode()
        native_ms = _native_expire_ms(op.expiration)
        pipe.eval(
            scripts.WRITE,
            3,
            prefix + b"k:" + member,
            prefix + b"idx",
            prefix + b"b:" + blob_id,
            member,
            b"del" if op.value is None else b"put",
            b"" if op.value is None else bytes(op.value),
            repr(float(op.expiration)).encode() if op.expiration is not None else b"",
            (op.metadata or "").encode(),
            b"1" if op.metadata is not None else b"0",
            str(native_ms).encode() if native_ms is not None else b"",
            b"1" if large else b"0",
            blob_id,
            prefix + b"b:",
            _GRACE_MS,
        )

    async def put(
        self,
        namespace: str,
        key: str,
        value: Buffer,
        expiration: float | None,
        metadata: str | None,
    ) -> None:
        await self.write_batch(namespace, [WriteOp(key, value, expiration, metadata)])

    async def delete(self, namespace: str, key: str) -> None:
        await self.write_batch(namespace, [WriteOp(key, None)])

    async def write_batch(self, namespace: str, ops: Sequence[WriteOp]) -> None:
        """One script per op; several ops go in one MULTI (no reader sees half a batch).
        The registry SADD and the invalidation PUBLISH ride in the same round trip
        (on a cluster, a batch's SADD follows its MULTI: it lives in another slot)."""
        if not ops:
            return
        prefix = namespace_prefix(namespace)
        multi = len(ops) > 1
        register = any(op.value is not None for op in ops)
        async with self._conn.command() as client:
            pipe = client.pipeline(transaction=multi)
            for op in ops:
                self._queue_write(pipe, prefix, op)
            self._announce(pipe, namespace, list(dict.fromkeys(op.key for op in ops)))
            if register and not (multi and self.sharded):
                pipe.sadd(REGISTRY_KEY, namespace)
                register = False
            await pipe.execute()
            if register:
                await client.sadd(REGISTRY_KEY, namespace)

    async def compare_and_swap(
        self,
        namespace: str,
        key: str,
        expected: bytes | None,
        value: Buffer | None,
        now: float,
    ) -> bool:
        """Replace (or delete) ``key`` if its live value is ``expected``: one Lua script."""
        prefix = namespace_prefix(namespace)
        member = key.encode()
        async with self._conn.command() as client:
            swapped = await client.eval(
                scripts.COMPARE_AND_SWAP,
                2,
                prefix + b"k:" + member,
                prefix + b"idx",
                member,
                expected or b"",
                b"0" if expected is None else b"1",
                b"" if value is None else bytes(value),
                b"del" if value is None else b"put",
                repr(float(now)).encode(),
                prefix + b"b:",
                _GRACE_MS,
            )
            if not swapped:
                return False
            pipe = client.pipeline(transaction=False)
            if value is not None:
                pipe.sadd(REGISTRY_KEY, namespace)
            self._announce(pipe, namespace, [key])
            await pipe.execute()
        return True

    # --- namespaces -----------------------------------------------------------

    async def list_namespaces(self) -> list[str]:
        async with self._conn.command() as client:
            members = cast(set[bytes], await client.smembers(REGISTRY_KEY))
        return sorted(m.decode() for m in members)

    async def create_namespace(self, namespace: str) -> None:
        async with self._conn.command() as client:
            await client.sadd(REGISTRY_KEY, namespace)

    async def delete_namespace(self, namespace: str) -> None:
        prefix = namespace_prefix(namespace)
        index = prefix + b"idx"
        async with self._conn.command() as client:
            while True:
                members = cast(list[bytes], await client.zrange(index, 0, REDIS_DELETE_BATCH - 1))
                if not members:
                    break
                pipe = client.pipeline(transaction=True)
                for member in members:
                    self._queue_write(pipe, prefix, WriteOp(member.decode(), None))
                await pipe.execute()
            # On a cluster the registry and the namespace are two slots: no MULTI.
            pipe = client.pipeline(transaction=not self.sharded)
            pipe.srem(REGISTRY_KEY, namespace)
            self._announce(pipe, namespace, None)
            await pipe.execute()

    # --- lifecycle ------------------------------------------------------------

    async def check(self) -> None:
        """PING Redis (every primary of a cluster); ``StoreUnavailable`` when it does
        not answer."""
        async with self._conn.command() as client:
            await client.ping()

    async def aclose(self) -> None:
        await self._conn.aclose()


async def _slices(data: bytes, chunk_size: int) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), chunk_size):
        yield bytes(view[start : start + chunk_size])
