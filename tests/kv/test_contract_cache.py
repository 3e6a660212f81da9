"""The edge cache as seen through ``KVNamespace`` (docs/kv.md, "The edge cache"), with a fake clock,
against every store kind. Two namespace objects over one store with separate
``EdgeCache`` objects are two locations."""

from __future__ import annotations

import pytest

from kv import EdgeCache, KVNamespace
from kv.backends import Store
from kv.limits import LARGE_VALUE_BYTES
from runtime.testing import FakeClock


@pytest.fixture
def here(store: Store, clock: FakeClock) -> KVNamespace:
    return KVNamespace(store, "shared", clock=clock, cache=EdgeCache())


@pytest.fixture
def there(store: Store, clock: FakeClock) -> KVNamespace:
    return KVNamespace(store, "shared", clock=clock, cache=EdgeCache())


async def status(ns: KVNamespace, key: str, **options: object) -> tuple[object, object]:
    got = await ns.get_with_metadata(key, **options)  # type: ignore[arg-type]
    return got.value, got.cache_status


async def test_cache_miss_then_hit_until_cache_ttl(
    here: KVNamespace, there: KVNamespace, clock: FakeClock
) -> None:
    await there.put("k", "v")
    assert await status(here, "k") == ("v", "MISS")
    assert await status(here, "k") == ("v", "HIT")
    assert (await here.get_with_metadata("k"))["cacheStatus"] == "HIT"
    clock.advance(59)
    assert await status(here, "k") == ("v", "HIT")
    clock.advance(1)
    assert await status(here, "k") == ("v", "MISS")


async def test_no_cache_means_status_none(ns: KVNamespace) -> None:
    await ns.put("k", "v")
    assert await status(ns, "k") == ("v", None)


async def test_other_location_is_stale_until_cache_ttl(
    here: KVNamespace, there: KVNamespace, clock: FakeClock
) -> None:
    await here.put("k", "old")
    assert await there.get("k") == "old"  # B caches "old"
    await here.put("k", "new")
    assert await here.get("k") == "new"  # A reads its own write at once
    clock.advance(30)
    assert await there.get("k") == "old"  # B: stale within cache_ttl
    clock.advance(30)
    assert await there.get("k") == "new"


async def test_not_found_is_cached_too(
    here: KVNamespace, there: KVNamespace, clock: FakeClock
) -> None:
    assert await here.get("k") is None
    await there.put("k", "v")
    assert await here.get("k") is None
    missing = await here.get_with_metadata("k")
    assert (missing.value, missing.cache_status) == (None, None)
    clock.advance(60)
    assert await here.get("k") == "v"


async def test_smaller_cache_ttl_shortens_a_cached_copy(
    here: KVNamespace, there: KVNamespace, clock: FakeClock
) -> None:
    await there.put("k", "old")
    await here.get("k", cache_ttl=300)
    await there.put("k", "new")
    clock.advance(100)
    assert await status(here, "k", cache_ttl=300) == ("old", "HIT")
    assert await status(here, "k", cache_ttl=30) == ("new", "MISS")


async def test_default_cache_ttl_is_configurable(store: Store, clock: FakeClock) -> None:
    here = KVNamespace(store, "shared", clock=clock, cache=EdgeCache(), cache_ttl_default=300)
    there = KVNamespace(store, "shared", clock=clock)
    await there.put("k", "old")
    await here.get("k")
    await there.put("k", "new")
    clock.advance(200)
    assert await here.get("k") == "old"
    clock.advance(100)
    assert await here.get("k") == "new"


async def test_expiration_wins_over_the_cache(
    here: KVNamespace, there: KVNamespace, clock: FakeClock
) -> None:
    await there.put("k", "v", expiration=int(clock()) + 90)
    assert await here.get("k", cache_ttl=3600) == "v"
    clock.advance(89)
    assert await status(here, "k", cache_ttl=3600) == ("v", "HIT")
    clock.advance(1)
    assert await here.get("k", cache_ttl=3600) is None
    assert await here.get(["k"], cache_ttl=3600) == {"k": None}
    assert await here.get("k", "stream", cache_ttl=3600) is None


async def test_delete_is_read_at_once_here_and_late_elsewhere(
    here: KVNamespace, there: KVNamespace, clock: FakeClock
) -> None:
    await here.put("k", "v")
    assert await there.get("k") == "v"
    await here.delete("k")
    assert await here.get("k") is None
    assert await there.get("k") == "v"
    clock.advance(60)
    assert await there.get("k") is None


async def test_own_write_carries_metadata_and_expiration(
    here: KVNamespace, clock: FakeClock
) -> None:
    await here.put("k", "v", metadata={"m": 1}, expiration_ttl=60)
    got = await here.get_with_metadata("k")
    assert (got.value, got.metadata, got.cache_status) == ("v", {"m": 1}, "HIT")
    clock.advance(60)
    assert await here.get("k") is None


async def test_bulk_get_mixes_hits_and_misses(here: KVNamespace, there: KVNamespace) -> None:
    await there.put("a", "1")
    await there.put("b", "2")
    await here.get("a")
    got = await here.get_with_metadata(["a", "b", "c"])
    assert got["a"].cache_status == "HIT"
    assert got["b"].cache_status == "MISS"
    assert got["c"] is None
    assert (await here.get_with_metadata("b")).cache_status == "HIT"
    assert await here.get(["c"]) == {"c": None}


async def test_small_stream_reads_are_cached(
    here: KVNamespace, there: KVNamespace, clock: FakeClock
) -> None:
    await there.put("k", "small")
    first = await here.get_with_metadata("k", "stream")
    assert first.cache_status == "MISS"
    assert b"".join([c async for c in first.value]) == b"small"
    second = await here.get_with_metadata("k", "stream")
    assert second.cache_status == "HIT"
    assert b"".join([c async for c in second.value]) == b"small"
    assert await status(here, "k") == ("small", "HIT")


async def test_large_stream_reads_bypass_the_cache(here: KVNamespace, there: KVNamespace) -> None:
    big = bytes(LARGE_VALUE_BYTES + 1)
    await there.put("big", big)
    for _ in range(2):
        got = await here.get_with_metadata("big", "stream")
        assert got.cache_status == "MISS"
        assert sum([len(c) async for c in got.value]) == len(big)
    assert here.cache is not None and len(here.cache) == 0


async def test_large_own_write_is_not_copied_into_the_cache(here: KVNamespace) -> None:
    big = bytes(LARGE_VALUE_BYTES + 1)
    await here.put("big", "old")
    await here.put("big", big)
    assert here.cache is not None and len(here.cache) == 0
    assert await status(here, "big", type="bytes") == (big, "MISS")


async def test_without_cache_reads_around_the_cache(here: KVNamespace, there: KVNamespace) -> None:
    await there.put("pointer", "v1")
    assert await here.get("pointer") == "v1"
    await there.put("pointer", "v2")
    assert await here.get("pointer") == "v1"
    direct = here.without_cache()
    assert await status(direct, "pointer") == ("v2", None)
    assert here.cache is not None
