"""The Redis queue store: Streams with a consumer group per queue.

Layout per queue ``q`` (``tag`` is ``q`` percent-encoded; the braces make it a
Redis Cluster hash tag, so every key of one queue lives in one slot and each
Lua script touches only that slot)::

    ewq:{tag}:s   stream    ready and in-flight messages; consumer group "ew"
    ewq:{tag}:d   zset      delayed message ids by visible-at (ms)
    ewq:{tag}:m   hash      delayed messages: id -> content type, timestamp, attempts, body
    ewq:{tag}:l   zset      leased stream entries by lease deadline (ms)
    ewq:{tag}:r   hash      stream entry -> redeliveries after a lease ran out
    ewq:{tag}:b   zset      leased batches by deadline: max_concurrency across processes
    ewq:{tag}:n   hash      bytes = backlog bytes
    ewq:queues    set       every queue that held a message (outside the queue slots)

A claim is one script (queues/backends/_redis_scripts.py): it moves due delayed
messages into the stream, checks the batch slots, re-claims entries whose lease
ran out (``XCLAIM``; the lease deadlines follow the caller's clock, so fake
clocks work and every process agrees on one deadline per batch), then reads
new entries with ``XREADGROUP``. Acks are ``XACK`` + ``XDEL``. A retry re-adds
the message (a new entry, or a delayed one) with its attempts in the entry.

Dead-lettering and ``transfer`` copy into the target queue first and delete
from the source after, in two scripts (two slots): a crash in between leaves a
duplicate, never a loss. redis-py retries a command once after a dropped
connection; for a send that may store the message twice (at least once).

Outages become ``kv.StoreUnavailable`` (KV's mapping); the connection pool
reconnects by itself once Redis is back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from kv.backends.shared import RedisLoopClient, redact, redis_errors
from queues.backends import _redis_scripts as scripts
from queues.backends.base import (
    Claim,
    NewMessage,
    QueueCounts,
    QueueStoreBase,
    Readiness,
    Settlement,
    StoredMessage,
)
from queues.limits import REDIS_SCAN_BATCH

if TYPE_CHECKING:
    from redis.asyncio import Redis

REGISTRY_KEY = b"ewq:queues"
_SUFFIXES = (b"s", b"d", b"m", b"l", b"r", b"b", b"n")


def queue_keys(queue: str) -> list[bytes]:
    """The keys of ``queue`` in the order the scripts expect, all in one hash slot."""
    prefix = b"ewq:{" + quote(queue, safe="").encode() + b"}:"
    return [prefix + suffix for suffix in _SUFFIXES]


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _fields(flat: Sequence[bytes]) -> dict[bytes, bytes]:
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


class RedisQueueStore(QueueStoreBase):
    """Queues on Redis: ``redis://host:port/db`` (the KV store's URL).

    >>> store = RedisQueueStore.from_url("redis://127.0.0.1:6379/0")   # no I/O yet
    """

    def __init__(self, url: str) -> None:
        self.url = redact(url)
        self._url = url
        self._consumer = uuid.uuid4().hex  # this store's name in every consumer group
        self._clients = RedisLoopClient(url)
        self._scripts: dict[str, Any] = {}
        self._scripts_client: Redis | None = None
        # Queues this store registered in REGISTRY_KEY: later sends skip the SADD.
        self._registered: set[str] = set()

    @classmethod
    def from_url(cls, url: str) -> RedisQueueStore:
        return cls(url)

    def _redis(self) -> Redis:
        """The client for the running event loop (a pool is bound to one loop)."""
        return self._clients.get()

    def _script(self, source: str) -> Any:
        client = self._redis()
        if client is not self._scripts_client:  # scripts are registered per client
            self._scripts, self._scripts_client = {}, client
        found = self._scripts.get(source)
        if found is None:
            found = self._scripts[source] = client.register_script(source)
        return found

    def _errors(self) -> AbstractContextManager[None]:
        return redis_errors(self.url)

    async def _run(self, source: str, queue: str, args: Sequence[object]) -> Any:
        with self._errors():
            return await self._script(source)(keys=queue_keys(queue), args=list(args))

    # --- writes -------------------------------------------------------------------

    async def send(self, queue: str, messages: Sequence[NewMessage]) -> None:
        await self._add(queue, messages, None)

    async def _add(self, queue: str, messages: Sequence[NewMessage], now: float | None) -> None:
        """SEND one batch; the first one of a queue also registers it (same round trip)."""
        args: list[object] = [_ms(now) if now is not None else 0]
        for m in messages:
            visible = _ms(now) if now is not None else _ms(m.visible_at)
            args += [m.id, m.content_type, repr(m.timestamp), 0, visible, m.body]
        if now is None:
            # Sends: "now" is the send time, so an undelayed message goes to the stream.
            args[0] = min(_ms(m.timestamp) for m in messages)
        if queue in self._registered:
            await self._run(scripts.SEND, queue, args)
            return
        with self._errors():
            pipe = self._redis().pipeline(transaction=False)
            await self._script(scripts.SEND)(keys=queue_keys(queue), args=args, client=pipe)
            pipe.sadd(REGISTRY_KEY, queue)
            await pipe.execute()
        self._registered.add(queue)

    async def claim(
        self, queue: str, limit: int, now: float, lease_seconds: float, max_concurrency: int
    ) -> Claim | None:
        token = uuid.uuid4().hex
        deadline = _ms(now + lease_seconds)
        rows = await self._run(
            scripts.CLAIM,
            queue,
            [_ms(now), limit, deadline, max_concurrency, token, self._consumer],
        )
        if not rows:
            return None
        messages = []
        for entry, flat, redelivered in sorted(rows, key=lambda r: _entry_order(r[0])):
            f = _fields(flat)
            messages.append(
                StoredMessage(
                    f[b"i"].decode(),
                    f[b"b"],
                    f[b"c"].decode(),
                    float(f[b"t"]),
                    int(f[b"a"]) + 1 + int(redelivered),
                    entry.decode(),
                )
            )
        return Claim(token, deadline / 1000, tuple(messages))

    async def settle(self, queue: str, claim: Claim, settlement: Settlement, now: float) -> None:
        if settlement.dead and settlement.dead_letter_queue is not None:
            # Copy first, delete after: a crash in between leaves a duplicate, not a loss.
            await self._add(
                settlement.dead_letter_queue,
                [
                    NewMessage(m.id, m.body, m.content_type, m.timestamp, now)
                    for m in settlement.dead
                ],
                now,
            )
        removed = [*settlement.acks, *settlement.dead]
        args: list[object] = [
            _ms(now),
            claim.token,
            _ms(claim.deadline),
            sum(len(m.body) for m in removed),
            len(removed),
            *(m.receipt for m in removed),
        ]
        for message, visible_at in settlement.retries:
            args += [
                message.receipt,
                message.id,
                message.content_type,
                repr(message.timestamp),
                message.attempts,
                _ms(visible_at),
            ]
        await self._run(scripts.SETTLE, queue, args)

    async def purge(self, queue: str) -> int:
        return int(await self._run(scripts.PURGE, queue, []))

    async def transfer(self, source: str, target: str, now: float) -> int:
        if source == target:
            return 0
        while int(await self._run(scripts.MOVE_DUE, source, ["+inf"])) > 0:
            pass
        stream = queue_keys(source)[0]
        moved = 0
        while True:
            with self._errors():
                client: Any = self._redis()
                entries = await client.xrange(stream, "-", "+", count=REDIS_SCAN_BATCH)
            if not entries:
                return moved
            batch = [self._message(fields, now) for _, fields in entries]
            await self._add(target, batch, now)
            await self._remove(source, [b"s:" + e for e, _ in entries], batch)
            moved += len(entries)

    async def sweep(self, older_than: float, limit: int) -> int:
        removed = 0
        for queue in await self.list_queues():
            if removed >= limit:
                break
            removed += await self._sweep_queue(queue, older_than, limit - removed)
        return removed

    async def _sweep_queue(self, queue: str, older_than: float, limit: int) -> int:
        keys = queue_keys(queue)
        client: Any = self._redis()  # redis-py's reply types are unions of everything
        old: list[bytes] = []
        gone: list[NewMessage] = []
        start = "-"
        with self._errors():
            while len(old) < limit:
                entries = await client.xrange(keys[0], start, "+", count=REDIS_SCAN_BATCH)
                for entry, fields in entries:
                    if float(fields[b"t"]) < older_than and len(old) < limit:
                        old.append(b"s:" + entry)
                        gone.append(self._message(fields, 0))
                if len(entries) < REDIS_SCAN_BATCH:
                    break
                start = "(" + entries[-1][0].decode()
            cursor = 0
            while len(old) < limit:
                cursor, found = await client.hscan(keys[2], cursor, count=REDIS_SCAN_BATCH)
                for message_id, packed in found.items():
                    kind, timestamp, _, body = packed.split(b"\n", 3)
                    if float(timestamp) < older_than and len(old) < limit:
                        old.append(b"d:" + message_id)
                        gone.append(NewMessage(message_id.decode(), body, kind.decode(), 0, 0))
                if cursor == 0:
                    break
        if old:
            await self._remove(queue, old, gone)
        return len(old)

    async def _remove(self, queue: str, refs: list[bytes], messages: list[NewMessage]) -> None:
        await self._run(scripts.REMOVE, queue, [sum(len(m.body) for m in messages), *refs])

    @staticmethod
    def _message(fields: dict[bytes, bytes], now: float) -> NewMessage:
        return NewMessage(
            fields[b"i"].decode(), fields[b"b"], fields[b"c"].decode(), float(fields[b"t"]), now
        )

    # --- reads ----------------------------------------------------------------------

    async def readiness(self, queue: str, now: float, limit: int) -> Readiness:
        count, oldest, next_at = await self._run(scripts.READINESS, queue, [_ms(now), limit])
        return Readiness(
            int(count),
            float(oldest) / 1000 if oldest else None,
            float(next_at) / 1000 if next_at else None,
        )

    async def counts(self, queue: str, now: float) -> QueueCounts:
        keys = queue_keys(queue)
        client: Any = self._redis()  # redis-py's reply types are unions of everything
        with self._errors():
            pipe = client.pipeline(transaction=False)
            pipe.exists(keys[0])
            pipe.zcard(keys[1])
            pipe.zcount(keys[3], "-inf", _ms(now))
            pipe.hget(keys[6], "bytes")
            exists, delayed, expired, size = await pipe.execute()
            length, pending, first = 0, 0, None
            if exists:
                pipe = client.pipeline(transaction=False)
                pipe.xlen(keys[0])
                pipe.xpending(keys[0], scripts.GROUP)
                pipe.xrange(keys[0], "-", "+", count=1)
                length, summary, head = await pipe.execute()
                pending = int(summary["pending"])
                first = float(head[0][1][b"t"]) if head else None
            oldest = first
            if delayed:
                _, found = await client.hscan(keys[2], 0, count=REDIS_SCAN_BATCH)
                for packed in found.values():
                    timestamp = float(packed.split(b"\n", 2)[1])
                    oldest = timestamp if oldest is None else min(oldest, timestamp)
        in_flight = pending - int(expired)
        return QueueCounts(
            ready=int(length) - in_flight,
            delayed=int(delayed),
            in_flight=in_flight,
            backlog_bytes=int(size or 0),
            oldest_timestamp=oldest,
        )

    async def list_queues(self) -> list[str]:
        with self._errors():
            members = cast(set[bytes], await self._redis().smembers(REGISTRY_KEY))
        return sorted(m.decode() for m in members)

    # --- lifecycle --------------------------------------------------------------------

    async def check(self) -> None:
        with self._errors():
            await self._redis().ping()

    async def aclose(self) -> None:
        await self._clients.aclose()


def _entry_order(entry: bytes) -> tuple[int, int]:
    ms, _, seq = entry.partition(b"-")
    return int(ms), int(seq)
