"""RedisStore against a real redis-server (the session fixture): layout, expiry, lists,
streaming, batches, namespaces and outages. The shared store contract suite runs on
Redis too (tests/kv/conftest.py); these cover what is specific to Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from kv.backends import open_store
from kv.backends.base import WriteOp
from kv.backends.redis import RedisStore, _lex_range, namespace_prefix
from kv.backends.redis_client import unavailable_as_store_error
from kv.errors import StoreUnavailable
from kv.invalidation import decode_invalidation
from kv.limits import (
    INVALIDATION_CHANNEL,
    REDIS_BLOB_GRACE,
    REDIS_INLINE_MAX_BYTES,
    REDIS_NATIVE_TTL_MARGIN,
    REDIS_SOCKET_TIMEOUT,
)
from tests.support import free_port

NOW = 1_700_000_000.0  # a fake clock far behind wall time


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisStore]:
    async with RedisStore.from_url(redis_url) as opened:
        yield opened


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_open_store_redis_url_is_lazy_and_typed(redis_url: str) -> None:
    store = open_store(redis_url)
    assert isinstance(store, RedisStore)
    assert store.url == redis_url
    await store.check()
    await store.aclose()


async def test_redis_put_get_roundtrip_with_metadata(store: RedisStore) -> None:
    await store.put("ns", "k", b"v", None, '{"a":1}')
    entry = await store.get("ns", "k", NOW)
    assert entry is not None
    assert (entry.value, entry.expiration, entry.metadata) == (b"v", None, '{"a":1}')


async def test_redis_put_replaces_whole_entry(store: RedisStore) -> None:
    await store.put("ns", "k", b"one", NOW + 100, '{"a":1}')
    await store.put("ns", "k", memoryview(b"two"), None, None)
    entry = await store.get("ns", "k", NOW)
    assert entry is not None
    assert (entry.value, entry.expiration, entry.metadata) == (b"two", None, None)


async def test_redis_empty_value_reads_back_empty(store: RedisStore) -> None:
    await store.put("ns", "k", b"", None, None)
    entry = await store.get("ns", "k", NOW)
    assert entry is not None and entry.value == b""


async def test_redis_keys_live_under_namespace_hash_tag(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    await store.put("my}ns", "k", b"v", None, None)
    keys = sorted(await raw.keys("*"))
    assert keys == [b"ew:namespaces", b"ew:{my%7Dns}:idx", b"ew:{my%7Dns}:k:k"]
    assert namespace_prefix("a:b{c") == b"ew:{a%3Ab%7Bc}:"


async def test_redis_expired_entry_is_filtered_by_passed_now(store: RedisStore) -> None:
    await store.put("ns", "k", b"v", NOW + 60, None)
    assert await store.get("ns", "k", NOW + 59.9) is not None
    assert await store.get("ns", "k", NOW + 60) is None
    assert await store.list_keys("ns", "", None, 10, NOW + 60) == []
    assert await store.stream("ns", "k", NOW + 60, 4) is None


async def test_redis_fake_clock_behind_wall_time_sets_no_native_ttl(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    # Expiration already past in wall time: Redis must not delete it while the fake
    # clock still considers it live.
    await store.put("ns", "k", b"v", NOW + 60, None)
    assert await raw.pttl(b"ew:{ns}:k:k") == -1
    assert (await store.get("ns", "k", NOW)) is not None


async def test_redis_native_ttl_is_expiration_plus_margin(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    expiration = float(int(time.time()) + 3600)
    await store.put("ns", "k", b"v", expiration, None)
    expected_ms = int((expiration + REDIS_NATIVE_TTL_MARGIN) * 1000)
    assert await raw.pexpiretime(b"ew:{ns}:k:k") == expected_ms
    await store.put("ns", "big", b"x" * 100_000, expiration, None)
    [blob] = await raw.keys(b"ew:{ns}:b:*")
    assert await raw.pexpiretime(blob) == expected_ms
    entry = await store.get("ns", "k", time.time())
    assert entry is not None and entry.expiration == expiration


async def test_redis_expired_entry_is_reclaimed_once_wall_time_agrees(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    await store.put("ns", "gone", b"v", NOW + 60, None)
    await store.put("ns", "live", b"v", None, None)
    assert await store.get("ns", "gone", NOW + 61) is None
    assert await raw.exists(b"ew:{ns}:k:gone") == 0
    assert await raw.zrange(b"ew:{ns}:idx", 0, -1) == [b"live"]


async def test_redis_fake_clock_ahead_never_deletes_what_wall_time_keeps(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    expiration = float(int(time.time()) + 3600)
    await store.put("ns", "k", b"v", expiration, None)
    # A namespace whose clock runs ahead sees it expired ...
    assert await store.get("ns", "k", expiration + 1) is None
    # ... but the entry stays for readers on the real clock.
    assert await raw.exists(b"ew:{ns}:k:k") == 1
    assert await store.get("ns", "k", time.time()) is not None


async def test_redis_small_value_is_one_hash_large_value_a_blob(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    await store.put("ns", "small", b"s" * REDIS_INLINE_MAX_BYTES, None, None)
    await store.put("ns", "large", b"l" * (REDIS_INLINE_MAX_BYTES + 1), None, '"m"')
    assert await raw.hget(b"ew:{ns}:k:small", "v") == b"s" * REDIS_INLINE_MAX_BYTES
    [blob] = await raw.keys(b"ew:{ns}:b:*")
    assert await raw.get(blob) == b"l" * (REDIS_INLINE_MAX_BYTES + 1)
    entries = await store.get_many("ns", ["large", "small"], NOW)
    assert [len(e.value) if e else 0 for e in entries] == [
        REDIS_INLINE_MAX_BYTES + 1,
        REDIS_INLINE_MAX_BYTES,
    ]
    assert entries[0] is not None and entries[0].metadata == '"m"'
    # Replaced or deleted, the blob lingers only for streams in progress.
    await store.put("ns", "large", b"short", None, None)
    assert 0 < await raw.ttl(blob) <= REDIS_BLOB_GRACE
    entry = await store.get("ns", "large", NOW)
    assert entry is not None and entry.value == b"short"


async def test_redis_get_many_keeps_request_order(store: RedisStore) -> None:
    await store.write_batch(
        "ns", [WriteOp("a", b"1"), WriteOp("b", b"2", NOW + 60), WriteOp("c", b"3")]
    )
    entries = await store.get_many("ns", ["c", "missing", "a", "b"], NOW + 60)
    assert [e.value if e else None for e in entries] == [b"3", None, b"1", None]


async def test_redis_list_orders_by_utf8_bytes(store: RedisStore) -> None:
    names = ["b", "a", "é", "z", "\uffff", "😀", "A", "a\x00"]
    await store.write_batch("ns", [WriteOp(n, b"v") for n in names])
    listed = [k.name for k in await store.list_keys("ns", "", None, 100, NOW)]
    assert listed == sorted(names, key=lambda n: n.encode())


async def test_redis_list_prefix_and_start_after(store: RedisStore) -> None:
    names = ["a", "p", "p/1", "p/2", "p/3", "p0", "q"]
    await store.write_batch("ns", [WriteOp(n, b"v", None, '"m"') for n in names])
    page = await store.list_keys("ns", "p/", None, 2, NOW)
    assert [k.name for k in page] == ["p/1", "p/2"]
    assert page[0].metadata == '"m"'
    rest = await store.list_keys("ns", "p/", "p/2", 10, NOW)
    assert [k.name for k in rest] == ["p/3"]
    # a cursor before the prefix range still starts at the prefix
    assert [k.name for k in await store.list_keys("ns", "p/", "a", 1, NOW)] == ["p/1"]
    assert await store.list_keys("ns", "%", None, 10, NOW) == []


async def test_redis_list_fills_page_past_expired_keys(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    ops = [WriteOp(f"k{i:03}", b"v", NOW + 60 if i % 3 else None) for i in range(90)]
    await store.write_batch("ns", ops)
    page = await store.list_keys("ns", "k", None, 20, NOW + 61)
    assert [k.name for k in page] == [f"k{i:03}" for i in range(0, 60, 3)]
    assert all(k.expiration is None for k in page)
    # the expired keys the page walked past (k001..k056) are reclaimed: wall time is
    # past their expiration too
    walked_past = sum(1 for i in range(57) if i % 3)
    assert await raw.zcard(b"ew:{ns}:idx") == 90 - walked_past
    assert await raw.exists(b"ew:{ns}:k:k001") == 0


async def test_redis_index_member_without_entry_is_skipped_and_removed(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    await store.write_batch("ns", [WriteOp("a", b"1"), WriteOp("b", b"2")])
    await raw.delete(b"ew:{ns}:k:a")  # as if Redis had expired it natively
    assert [k.name for k in await store.list_keys("ns", "", None, 10, NOW)] == ["b"]
    assert await raw.zrange(b"ew:{ns}:idx", 0, -1) == [b"b"]


def test_lex_range_bounds() -> None:
    assert _lex_range("", None) == (b"[", b"+")
    assert _lex_range("ab", None) == (b"[ab", b"(ab\xff")
    assert _lex_range("ab", "abc") == (b"(abc", b"(ab\xff")
    assert _lex_range("ab", "a") == (b"[ab", b"(ab\xff")


async def test_redis_stream_large_value_in_chunks(store: RedisStore, raw: aioredis.Redis) -> None:
    value = bytes(range(256)) * 4096  # 1 MiB
    await store.put("ns", "big", value, None, '{"x":1}')
    streamed = await store.stream("ns", "big", NOW, 64 * 1024)
    assert streamed is not None and streamed.size == len(value)
    assert streamed.metadata == '{"x":1}'
    chunks = [chunk async for chunk in streamed.chunks]
    assert b"".join(chunks) == value
    assert max(len(c) for c in chunks) == 64 * 1024


async def test_redis_stream_is_consistent_when_replaced_midway(store: RedisStore) -> None:
    old = b"o" * 300_000
    await store.put("ns", "big", old, None, None)
    streamed = await store.stream("ns", "big", NOW, 100_000)
    assert streamed is not None
    received = []
    async for chunk in streamed.chunks:
        received.append(chunk)
        if len(received) == 1:
            await store.put("ns", "big", b"n" * 300_000, None, None)
    assert b"".join(received) == old


async def test_redis_stream_small_value_and_missing(store: RedisStore) -> None:
    await store.put("ns", "s", b"hello", None, None)
    streamed = await store.stream("ns", "s", NOW, 1024)
    assert streamed is not None
    assert [c async for c in streamed.chunks] == [b"hello"]
    assert await store.stream("ns", "nope", NOW, 1024) is None


async def test_redis_value_of_25_mib_roundtrips(store: RedisStore) -> None:
    value = b"\xab" * 26_214_400
    await store.put("ns", "max", value, None, None)
    entry = await store.get("ns", "max", NOW)
    assert entry is not None and entry.value == value


async def test_redis_write_batch_puts_and_deletes_together(store: RedisStore) -> None:
    await store.put("ns", "old", b"x", None, None)
    await store.write_batch("ns", [WriteOp("new", b"1", None, '"m"'), WriteOp("old", None)])
    assert await store.get("ns", "old", NOW) is None
    entry = await store.get("ns", "new", NOW)
    assert entry is not None and entry.metadata == '"m"'


async def test_redis_write_batch_is_one_transaction(store: RedisStore, raw: aioredis.Redis) -> None:
    # A concurrent reader never sees half a batch.
    ops = [WriteOp(f"k{i}", b"v") for i in range(200)]
    seen: list[int] = []

    async def watch() -> None:
        for _ in range(50):
            seen.append(await raw.zcard(b"ew:{ns}:idx"))
            await asyncio.sleep(0)

    await asyncio.gather(store.write_batch("ns", ops), watch())
    assert set(seen) <= {0, 200}


async def test_redis_namespaces_are_isolated(store: RedisStore) -> None:
    await store.put("one", "k", b"1", None, None)
    await store.put("two", "k", b"2", None, None)
    entry = await store.get("two", "k", NOW)
    assert entry is not None and entry.value == b"2"
    assert [k.name for k in await store.list_keys("one", "", None, 10, NOW)] == ["k"]
    await store.delete_namespace("one")
    assert await store.get("one", "k", NOW) is None
    assert await store.get("two", "k", NOW) is not None


async def test_redis_namespace_registry(store: RedisStore, raw: aioredis.Redis) -> None:
    await store.create_namespace("empty")
    await store.put("b-ns", "k", b"v", None, None)
    assert await store.list_namespaces() == ["b-ns", "empty"]
    await store.write_batch("big", [WriteOp(f"k{i}", b"v") for i in range(1200)])
    await store.put("big", "blob", b"x" * (REDIS_INLINE_MAX_BYTES + 1), None, None)
    await store.delete_namespace("big")
    assert await store.list_namespaces() == ["b-ns", "empty"]
    [blob] = await raw.keys(b"ew:{big}:*")  # only the large value, expiring after the grace
    assert blob.startswith(b"ew:{big}:b:") and await raw.ttl(blob) > 0


async def test_redis_delete_missing_key_succeeds(store: RedisStore) -> None:
    await store.delete("ns", "never")
    await store.put("ns", "k", b"v", None, None)
    await store.delete("ns", "k")
    assert await store.get("ns", "k", NOW) is None
    assert await store.list_keys("ns", "", None, 10, NOW) == []


async def test_redis_every_write_publishes_an_invalidation(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    pubsub = raw.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(INVALIDATION_CHANNEL)
    await store.put("ns", "k", b"v", None, None)
    await store.write_batch("ns", [WriteOp("a", b"1"), WriteOp("b", None)])
    await store.delete_namespace("ns")
    got = []
    deadline = time.monotonic() + 5
    while len(got) < 3 and time.monotonic() < deadline:
        message = await pubsub.get_message(timeout=1)
        if message is not None:  # None: the ignored subscribe confirmation
            got.append(decode_invalidation(message["data"]))
    await pubsub.aclose()
    assert [(m.origin, m.namespace, m.keys) for m in got if m] == [
        (store.origin, "ns", ("k",)),
        (store.origin, "ns", ("a", "b")),
        (store.origin, "ns", None),
    ]


async def test_redis_unreachable_is_store_unavailable_quickly() -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1"):
        await store.get("ns", "k", NOW)
    with pytest.raises(StoreUnavailable):
        await store.put("ns", "k", b"v", None, None)
    with pytest.raises(StoreUnavailable):
        await store.check()
    assert time.monotonic() - started < 3
    await store.aclose()


async def test_redis_password_is_masked_in_url_and_errors() -> None:
    url = f"redis://user:s3cret@127.0.0.1:{free_port()}/0"
    store = RedisStore.from_url(url)
    assert store.url == url.replace("s3cret", "***")
    with pytest.raises(StoreUnavailable) as caught:
        await store.get("ns", "k", NOW)
    assert "s3cret" not in str(caught.value)
    assert RedisStore.from_url("redis://h:1/0").url == "redis://h:1/0"
    await store.aclose()


async def test_redis_store_survives_a_new_event_loop(redis_url: str) -> None:
    # The CLI may run several asyncio.run() calls with one store object.
    store = RedisStore.from_url(redis_url)
    await store.put("ns", "k", b"v", None, None)

    def in_other_loop() -> bytes | None:
        async def read() -> bytes | None:
            entry = await store.get("ns", "k", NOW)
            return entry.value if entry else None

        return asyncio.run(read())

    assert await asyncio.to_thread(in_other_loop) == b"v"


async def test_redis_out_of_memory_refuses_writes_as_unavailable_reads_still_work(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    await store.put("ns", "k", b"v", None, None)
    await raw.config_set("maxmemory", "1")
    try:
        with pytest.raises(StoreUnavailable, match="OOM"):
            await store.put("ns", "k2", b"v", None, None)
        with pytest.raises(StoreUnavailable, match="OOM"):
            await store.write_batch("ns", [WriteOp("a", b"1"), WriteOp("b", b"2")])
        entry = await store.get("ns", "k", NOW)
        assert entry is not None and entry.value == b"v"
    finally:
        await raw.config_set("maxmemory", "0")
    await store.put("ns", "k2", b"v", None, None)


def test_redis_error_replies_mapped_to_unavailable_or_raised() -> None:
    from redis import exceptions as rex

    store = RedisStore.from_url("redis://127.0.0.1:1/0")
    unavailable = [
        rex.BusyLoadingError("Redis is loading the dataset in memory", status_code="LOADING"),
        rex.ReadOnlyError("You can't write against a read only replica.", status_code="READONLY"),
        rex.ResponseError("MISCONF Redis is configured to save RDB snapshots, but ..."),
        rex.ResponseError("Command # 1 (EVAL ...) of pipeline caused error: MISCONF Redis ..."),
        rex.ResponseError("NOREPLICAS Not enough good replicas to write."),
    ]
    for exc in unavailable:
        with pytest.raises(StoreUnavailable), unavailable_as_store_error(store.url):
            raise exc
    with (
        pytest.raises(StoreUnavailable, match="READONLY You can't write"),
        unavailable_as_store_error(store.url),
    ):
        raise unavailable[1]
    with pytest.raises(rex.ResponseError, match="WRONGTYPE"), unavailable_as_store_error(store.url):
        raise rex.ResponseError("WRONGTYPE Operation against a key holding the wrong kind")


async def test_redis_slow_server_times_out_within_budget(store: RedisStore, redis_url: str) -> None:
    await store.put("ns", "k", b"v", None, None)
    blocker = aioredis.Redis.from_url(redis_url)
    sleeping = asyncio.create_task(blocker.execute_command("DEBUG", "SLEEP", "2.5"))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"[Tt]imeout"):
        await store.get("ns", "k", NOW)
    elapsed = time.monotonic() - started
    assert REDIS_SOCKET_TIMEOUT - 0.1 < elapsed < REDIS_SOCKET_TIMEOUT + 0.4
    await sleeping
    await blocker.aclose()
    entry = await store.get("ns", "k", NOW)  # the pool recovers once Redis answers again
    assert entry is not None and entry.value == b"v"


async def test_redis_entry_whose_blob_is_gone_reads_as_unavailable_not_empty(
    store: RedisStore, raw: aioredis.Redis
) -> None:
    await store.put("ns", "big", b"x" * (REDIS_INLINE_MAX_BYTES + 1), None, None)
    [blob] = await raw.keys(b"ew:{ns}:b:*")
    await raw.delete(blob)  # only possible if Redis lost it; never serve b"" instead
    with pytest.raises(StoreUnavailable, match="vanished"):
        await store.get("ns", "big", NOW)
    with pytest.raises(StoreUnavailable, match="vanished"):
        await store.stream("ns", "big", NOW, 1024)
