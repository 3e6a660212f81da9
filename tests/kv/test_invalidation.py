"""Pub/sub invalidation over a real redis-server: two locations (two RedisStores, two
EdgeCaches) share one Redis; the clock never moves, so only invalidation can make B
see A's write."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from kv import EdgeCache, KVNamespace
from kv.backends.base import Entry
from kv.backends.redis import RedisStore
from kv.invalidation import (
    Invalidation,
    PubSubInvalidator,
    apply_invalidation,
    decode_invalidation,
    encode_invalidation,
)
from kv.limits import INVALIDATION_CHANNEL

T0 = 1_700_000_000.0


@dataclass
class Location:
    store: RedisStore
    cache: EdgeCache
    ns: KVNamespace
    invalidator: PubSubInvalidator


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 3.0) -> None:
    """Poll ``check`` (real time: waiting for a network message, not for a TTL)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{check.__name__} not true within {timeout}s")
        await asyncio.sleep(0.01)


async def _applied(location: Location, count: int) -> None:
    """Wait until ``location`` has applied ``count`` messages from other locations."""

    async def applied() -> bool:
        return location.invalidator.applied >= count

    await _eventually(applied)


@pytest.fixture
async def locations(redis_url: str) -> AsyncIterator[tuple[Location, Location]]:
    made = []
    for _ in range(2):
        store = RedisStore.from_url(redis_url)
        cache = EdgeCache()
        invalidator = PubSubInvalidator(store, cache)
        await invalidator.start(wait=5)
        assert invalidator.subscribed.is_set()
        made.append(
            Location(
                store, cache, KVNamespace(store, "ns", clock=lambda: T0, cache=cache), invalidator
            )
        )
    yield made[0], made[1]
    for loc in made:
        await loc.invalidator.aclose()
        await loc.store.aclose()


def test_invalidation_wire_format_roundtrip() -> None:
    data = encode_invalidation("o1", "ns", ["a", "é"])
    assert decode_invalidation(data) == Invalidation("o1", "ns", ("a", "é"))
    assert decode_invalidation(encode_invalidation("o1", "ns", None)) == Invalidation(
        "o1", "ns", None
    )
    for bad in [b"", b"{", b"[]", b'{"o":1,"n":"ns","k":null}', b'{"o":"o","n":"ns","k":[1]}']:
        assert decode_invalidation(bad) is None


def test_invalidation_from_own_origin_is_ignored() -> None:
    cache = EdgeCache()
    cache.fill("ns", "k", Entry(b"v"), T0)
    assert not apply_invalidation(cache, Invalidation("me", "ns", ("k",)), "me")
    assert len(cache) == 1
    assert apply_invalidation(cache, Invalidation("other", "ns", ("k",)), "me")
    assert len(cache) == 0


async def test_pubsub_other_location_sees_write_without_clock_moving(
    locations: tuple[Location, Location],
) -> None:
    a, b = locations
    await a.ns.put("k", "old")
    # The first put's own message must reach B before B caches "old": arriving later,
    # it would (rightly) evict B's fresh copy and the HIT below would be a MISS.
    await _applied(b, 1)
    assert await b.ns.get("k") == "old"
    assert (await b.ns.get_with_metadata("k")).cache_status == "HIT"
    await a.ns.put("k", "new")

    async def b_sees_new() -> bool:
        return await b.ns.get("k") == "new"

    await _eventually(b_sees_new)
    assert b.invalidator.applied >= 2
    assert a.invalidator.applied == 0  # A ignores its own messages and keeps its copy
    assert (await a.ns.get_with_metadata("k")).cache_status == "HIT"


async def test_pubsub_negative_cache_is_invalidated_too(
    locations: tuple[Location, Location],
) -> None:
    a, b = locations
    assert await b.ns.get("fresh") is None
    await a.ns.put("fresh", "v")

    async def b_sees_it() -> bool:
        return await b.ns.get("fresh") == "v"

    await _eventually(b_sees_it)
    await a.ns.delete("fresh")

    async def b_sees_delete() -> bool:
        return await b.ns.get("fresh") is None

    await _eventually(b_sees_delete)


async def test_pubsub_lost_subscription_resubscribes_and_clears_cache(
    locations: tuple[Location, Location], redis_url: str
) -> None:
    a, b = locations
    await a.ns.put("k", "v1")
    await _applied(b, 1)  # else v1's own message may evict B's copy after the read below
    assert await b.ns.get("k") == "v1"
    assert len(b.cache) == 1
    admin = aioredis.Redis.from_url(redis_url)
    await admin.client_kill_filter(_type="pubsub")
    await admin.aclose()
    # Whatever was published while disconnected is lost, so B starts over.

    async def resubscribed() -> bool:
        return b.invalidator.subscriptions >= 2 and b.invalidator.subscribed.is_set()

    await _eventually(resubscribed, timeout=5)
    assert len(b.cache) == 0
    await a.ns.put("k", "v2")

    async def b_sees_v2() -> bool:
        return await b.ns.get("k") == "v2"

    await _eventually(b_sees_v2)


async def test_pubsub_malformed_message_is_ignored(
    locations: tuple[Location, Location], redis_url: str
) -> None:
    a, b = locations
    admin = aioredis.Redis.from_url(redis_url)
    await admin.publish(INVALIDATION_CHANNEL, b"not json")
    await admin.aclose()
    await a.ns.put("k", "v")
    assert await b.ns.get("k") == "v"
    await a.ns.put("k", "w")

    async def b_sees_w() -> bool:
        return await b.ns.get("k") == "w"

    await _eventually(b_sees_w)
    assert b.invalidator.subscribed.is_set()


async def test_pubsub_start_with_redis_down_does_not_fail() -> None:
    from tests.support import free_port

    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    invalidator = PubSubInvalidator(store, EdgeCache())
    await invalidator.start(wait=0.3)
    assert not invalidator.subscribed.is_set()
    await invalidator.aclose()


async def test_start_invalidation_modes(redis_url: str) -> None:
    from kv import open_store
    from kv.invalidation import start_invalidation

    cache = EdgeCache()
    memory = open_store("memory://")
    assert await start_invalidation(memory, cache, "none") is None
    with pytest.raises(ValueError, match="needs a redis:// store"):
        await start_invalidation(memory, cache, "pubsub")
    with pytest.raises(ValueError, match="allowed are 'none', 'pubsub'"):
        await start_invalidation(memory, cache, "gossip")
    store = RedisStore.from_url(redis_url)
    invalidator = await start_invalidation(store, cache, "pubsub")
    assert invalidator is not None and invalidator.subscribed.is_set()
    await invalidator.aclose()
    await store.aclose()


def test_check_invalidation_against_store_url() -> None:
    from kv.invalidation import check_invalidation

    check_invalidation("redis://h:6379/0", "pubsub")
    check_invalidation("rediss://h:6380/0", "pubsub")
    check_invalidation("sqlite:///x.sqlite3", "none")
    with pytest.raises(ValueError, match="needs a redis:// store, not sqlite:///x"):
        check_invalidation("sqlite:///x.sqlite3", "pubsub")
    with pytest.raises(ValueError, match="allowed are 'none', 'pubsub'"):
        check_invalidation("redis://h/0", "gossip")
