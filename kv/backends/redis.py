"""The Redis store: many processes and hosts share one Redis (or one Redis Cluster).

Layout, per namespace ``ns`` (``tag`` is ``ns`` percent-encoded so it never holds
``{``, ``}`` or ``:``; the braces make it a Redis Cluster hash tag, so every key of
one namespace lives in one slot and a namespace's MULTI and scripts stay legal)::

    ew:{tag}:v:<key>    string   the value bytes (GETRANGE streams it)
    ew:{tag}:m:<key>    hash     e = expiration ("" for none), m = metadata JSON (absent for none)
    ew:{tag}:idx        zset     every key, score 0: ZRANGEBYLEX pages in UTF-8 byte order
    ew:{tag}:s:<uuid>   string   a short-lived snapshot of a large value being streamed
    ew:namespaces       set      namespace registry (outside the namespace slots)

A put is one MULTI (SET, DEL+HSET, ZADD, PEXPIREAT, PUBLISH): readers never see a
value with the previous entry's metadata. Every command is an idempotent SET-style
write, so redis-py's retry after a dropped connection cannot double-apply anything.

Expiry: reads filter with the namespace's ``now``. Redis also gets a native
``PEXPIREAT`` at ``expiration + REDIS_NATIVE_TTL_MARGIN`` so space is reclaimed
without reads; the margin absorbs clock skew between hosts and Redis. When
``expiration`` is already past in wall-clock time (a fake clock running behind),
no native TTL is set: Redis would delete the key at once while the namespace
still considers it live. Expired entries are removed lazily (and only once the
wall clock agrees) when a read or a list meets them.

Outages: connection errors, timeouts, ``LOADING``, ``MISCONF`` and ``READONLY``
replies become ``StoreUnavailable`` within about ``REDIS_CONNECT_TIMEOUT`` +
``REDIS_SOCKET_TIMEOUT``; the connection pool reconnects on its own afterwards.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from kv.backends.base import Buffer, Entry, KeyInfo, StreamEntry, WriteOp
from kv.errors import StoreUnavailable
from kv.invalidation import encode_invalidation
from kv.limits import (
    INVALIDATION_CHANNEL,
    REDIS_CONNECT_TIMEOUT,
    REDIS_DELETE_BATCH,
    REDIS_HEALTH_CHECK_INTERVAL,
    REDIS_LIST_BATCH_MIN,
    REDIS_NATIVE_TTL_MARGIN,
    REDIS_RETRIES,
    REDIS_RETRY_BACKOFF_BASE,
    REDIS_RETRY_BACKOFF_CAP,
    REDIS_SOCKET_TIMEOUT,
    REDIS_STREAM_SNAPSHOT_TTL,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

REGISTRY_KEY = b"ew:namespaces"

# Replies that mean "Redis is there but cannot serve this now": a 503, not a bug.
_UNAVAILABLE_REPLIES = ("LOADING", "MISCONF", "READONLY", "MASTERDOWN", "NOREPLICAS", "TRYAGAIN")

# Remove an entry only if it is still the one the caller saw expire (same "e"),
# so a concurrent put of a new entry survives. ARGV[2] == "" means "meta is gone".
_RECLAIM_LUA = """
local e = redis.call('HGET', KEYS[2], 'e')
if (e == false and ARGV[2] == '') or e == ARGV[2] then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 1
end
return 0
"""

# Read the first chunk and, for a large value, snapshot it server-side in the same
# atomic step, so the rest of the stream is consistent even if a put replaces it.
_STREAM_OPEN_LUA = """
local meta = redis.call('HMGET', KEYS[2], 'e', 'm')
if meta[1] == false then return false end
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local size = redis.call('STRLEN', KEYS[1])
local chunk = tonumber(ARGV[1])
local first = redis.call('GETRANGE', KEYS[1], 0, chunk - 1)
if size > chunk then
  redis.call('COPY', KEYS[1], KEYS[3], 'REPLACE')
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
return {meta[1], meta[2], size, first}
"""


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


class RedisStore:
    """A KV store on Redis: ``redis://host:port/db`` (also ``rediss://``).

    >>> store = RedisStore.from_url("redis://127.0.0.1:6379/0")   # no I/O yet
    >>> await store.put("ns", "k", b"v", None, None)
    """

    def __init__(self, url: str) -> None:
        self.url = url
        #: Identifies this store (this location) in invalidation messages it publishes.
        self.origin = uuid.uuid4().hex
        self._client: Redis | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """Open lazily: the first command connects."""
        return cls(url)

    async def __aenter__(self) -> RedisStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- connection -----------------------------------------------------------

    def _redis(self) -> Redis:
        """The client for the running event loop (a pool is bound to one loop)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import ExponentialBackoff

            self._client = Redis.from_url(
                self.url,
                socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
                socket_timeout=REDIS_SOCKET_TIMEOUT,
                retry=Retry(
                    ExponentialBackoff(cap=REDIS_RETRY_BACKOFF_CAP, base=REDIS_RETRY_BACKOFF_BASE),
                    REDIS_RETRIES,
                ),
                health_check_interval=REDIS_HEALTH_CHECK_INTERVAL,
            )
            self._client_loop = loop
        return self._client

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn "Redis cannot answer" into ``StoreUnavailable``; let real bugs through."""
        from redis import exceptions as rex

        try:
            yield
        except (rex.ConnectionError, rex.TimeoutError, OSError, TimeoutError) as exc:
            raise StoreUnavailable(f"{self.url}: {exc}") from exc
        except rex.ResponseError as exc:
            if str(exc).startswith(_UNAVAILABLE_REPLIES):
                raise StoreUnavailable(f"{self.url}: {exc}") from exc
            raise

    def pubsub(self) -> PubSub:
        """A pub/sub connection on this store's Redis (for ``kv.invalidation``); it
        delivers subscribe confirmations too, which mark each (re)subscription."""
        return self._redis().pubsub()

    # --- reads ----------------------------------------------------------------

    async def get(self, namespace: str, key: str, now: float) -> Entry | None:
        return (await self.get_many(namespace, [key], now))[0]

    async def get_many(self, namespace: str, keys: Sequence[str], now: float) -> list[Entry | None]:
        prefix = namespace_prefix(namespace)
        with self._errors():
            pipe = self._redis().pipeline(transaction=True)
            for key in keys:
                member = key.encode()
                pipe.get(prefix + b"v:" + member)
                pipe.hmget(prefix + b"m:" + member, ["e", "m"])
            replies = await pipe.execute()
        result: list[Entry | None] = []
        for index, key in enumerate(keys):
            value, (raw_e, raw_m) = replies[2 * index], replies[2 * index + 1]
            if value is None or raw_e is None:
                if value is not None or raw_e is not None:  # half expired natively
                    await self._reclaim(namespace, key, raw_e)
                result.append(None)
                continue
            expiration = _parse_expiration(raw_e)
            if expiration is not None and expiration <= now:
                await self._reclaim(namespace, key, raw_e)
                result.append(None)
                continue
            metadata = raw_m.decode() if raw_m is not None else None
            result.append(Entry(value, expiration, metadata))
        return result

    async def stream(
        self, namespace: str, key: str, now: float, chunk_size: int
    ) -> StreamEntry | None:
        prefix = namespace_prefix(namespace)
        member = key.encode()
        snapshot = prefix + b"s:" + uuid.uuid4().hex.encode()
        client = self._redis()
        with self._errors():
            reply = await client.eval(
                _STREAM_OPEN_LUA,
                3,
                prefix + b"v:" + member,
                prefix + b"m:" + member,
                snapshot,
                chunk_size,
                REDIS_STREAM_SNAPSHOT_TTL * 1000,
            )
        if reply is None:
            return None
        raw_e, raw_m, size, first = reply
        expiration = _parse_expiration(raw_e)
        if expiration is not None and expiration <= now:
            with self._errors():
                await client.delete(snapshot)
            await self._reclaim(namespace, key, raw_e)
            return None
        metadata = raw_m.decode() if raw_m is not None else None
        return StreamEntry(
            int(size), self._chunks(snapshot, first, int(size), chunk_size), expiration, metadata
        )

    async def _chunks(
        self, snapshot: bytes, first: bytes, size: int, chunk_size: int
    ) -> AsyncIterator[bytes]:
        if first:
            yield first
        if size <= chunk_size:
            return
        client = self._redis()
        try:
            offset = len(first)
            while offset < size:
                with self._errors():
                    chunk = cast(
                        bytes, await client.getrange(snapshot, offset, offset + chunk_size - 1)
                    )
                if not chunk:  # the snapshot outlived its TTL: never loop forever
                    raise StoreUnavailable(f"{self.url}: stream snapshot expired")
                yield chunk
                offset += len(chunk)
        finally:
            with self._errors():
                await client.delete(snapshot)

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
        client = self._redis()
        while len(found) < limit:
            with self._errors():
                members = cast(list[bytes], await client.zrangebylex(index, low, high, 0, batch))
                if not members:
                    break
                pipe = client.pipeline(transaction=False)
                for member in members:
                    pipe.hmget(ns_prefix + b"m:" + member, ["e", "m"])
                metas = await pipe.execute()
            for member, (raw_e, raw_m) in zip(members, metas, strict=True):
                expiration = _parse_expiration(raw_e)
                if raw_e is None or (expiration is not None and expiration <= now):
                    await self._reclaim(namespace, member.decode(), raw_e)
                    continue
                metadata = raw_m.decode() if raw_m is not None else None
                found.append(KeyInfo(member.decode(), expiration, metadata))
                if len(found) == limit:
                    break
            if len(members) < batch:
                break
            low = b"(" + members[-1]
        return found

    async def _reclaim(self, namespace: str, key: str, raw_e: bytes | None) -> None:
        """Lazily remove an entry that is expired (or half gone) — once wall time agrees."""
        expiration = _parse_expiration(raw_e)
        if expiration is not None and expiration > time.time():
            return  # a fake clock ran ahead: another reader may still see it live
        prefix = namespace_prefix(namespace)
        member = key.encode()
        with self._errors():
            await self._redis().eval(
                _RECLAIM_LUA,
                3,
                prefix + b"v:" + member,
                prefix + b"m:" + member,
                prefix + b"idx",
                member,
                raw_e or b"",
            )

    # --- writes ---------------------------------------------------------------

    def _queue_put(
        self,
        pipe: Any,
        prefix: bytes,
        key: str,
        value: Buffer,
        expiration: float | None,
        metadata: str | None,
    ) -> None:
        member = key.encode()
        value_key, meta_key = prefix + b"v:" + member, prefix + b"m:" + member
        fields: dict[str, str] = {"e": repr(float(expiration)) if expiration is not None else ""}
        if metadata is not None:
            fields["m"] = metadata
        pipe.set(value_key, bytes(value))
        pipe.delete(meta_key)
        pipe.hset(meta_key, mapping=fields)
        native_ms = _native_expire_ms(expiration)
        if native_ms is not None:
            pipe.pexpireat(value_key, native_ms)
            pipe.pexpireat(meta_key, native_ms)
        pipe.zadd(prefix + b"idx", {member: 0})

    def _queue_delete(self, pipe: Any, prefix: bytes, key: str) -> None:
        member = key.encode()
        pipe.delete(prefix + b"v:" + member, prefix + b"m:" + member)
        pipe.zrem(prefix + b"idx", member)

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
        if not ops:
            return
        prefix = namespace_prefix(namespace)
        with self._errors():
            pipe = self._redis().pipeline(transaction=True)
            for op in ops:
                if op.value is None:
                    self._queue_delete(pipe, prefix, op.key)
                else:
                    self._queue_put(pipe, prefix, op.key, op.value, op.expiration, op.metadata)
            if any(op.value is not None for op in ops):
                pipe.sadd(REGISTRY_KEY, namespace)
            keys = list(dict.fromkeys(op.key for op in ops))
            pipe.publish(INVALIDATION_CHANNEL, encode_invalidation(self.origin, namespace, keys))
            await pipe.execute()

    # --- namespaces -----------------------------------------------------------

    async def list_namespaces(self) -> list[str]:
        with self._errors():
            members = cast(set[bytes], await self._redis().smembers(REGISTRY_KEY))
        return sorted(m.decode() for m in members)

    async def create_namespace(self, namespace: str) -> None:
        with self._errors():
            await self._redis().sadd(REGISTRY_KEY, namespace)

    async def delete_namespace(self, namespace: str) -> None:
        prefix = namespace_prefix(namespace)
        index = prefix + b"idx"
        client = self._redis()
        with self._errors():
            while True:
                members = cast(list[bytes], await client.zrange(index, 0, REDIS_DELETE_BATCH - 1))
                if not members:
                    break
                pipe = client.pipeline(transaction=True)
                for member in members:
                    pipe.delete(prefix + b"v:" + member, prefix + b"m:" + member)
                pipe.zrem(index, *members)
                await pipe.execute()
            pipe = client.pipeline(transaction=True)
            pipe.srem(REGISTRY_KEY, namespace)
            pipe.publish(INVALIDATION_CHANNEL, encode_invalidation(self.origin, namespace, None))
            await pipe.execute()

    # --- lifecycle ------------------------------------------------------------

    async def check(self) -> None:
        """PING Redis; ``StoreUnavailable`` when it does not answer."""
        with self._errors():
            await self._redis().ping()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # pragma: no cover - closing outside a loop
                return
            if loop is self._client_loop:
                with self._errors():
                    await client.aclose()
