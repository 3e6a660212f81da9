"""EdgeCache (docs/kv.md, "The edge cache") with a fake clock: TTL, negative caching, shortened TTL,
expiration wins, read-your-writes, byte budget, and fills that race a write; then two
locations over one store through KVNamespace."""

from __future__ import annotations

import asyncio

from kv import EdgeCache, KVNamespace, open_store
from kv.backends.base import Entry
from kv.limits import CACHE_ENTRY_OVERHEAD_BYTES, DEFAULT_CACHE_TTL

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def test_cache_miss_then_hit_until_cache_ttl() -> None:
    cache = EdgeCache()
    assert cache.lookup("ns", "k", T0, 60) is None
    cache.fill("ns", "k", Entry(b"v"), T0)
    hit = cache.lookup("ns", "k", T0 + 59.9, 60)
    assert hit is not None and hit.entry == Entry(b"v")
    assert cache.lookup("ns", "k", T0 + 60, 60) is None


async def test_cache_remembers_not_found() -> None:
    cache = EdgeCache()
    assert cache.lookup("ns", "k", T0, 60) is None
    cache.fill("ns", "k", None, T0)
    hit = cache.lookup("ns", "k", T0 + 1, 60)
    assert hit is not None and hit.entry is None


async def test_cache_smaller_ttl_shortens_for_good() -> None:
    cache = EdgeCache()
    cache.lookup("ns", "k", T0, 300)
    cache.fill("ns", "k", Entry(b"v"), T0)
    assert cache.lookup("ns", "k", T0 + 40, 30) is None  # too old for a 30 s read
    # ... and the copy is gone, also for a later read with the long TTL.
    assert cache.lookup("ns", "k", T0 + 41, 300) is None


async def test_cache_larger_ttl_does_not_lengthen_a_filled_copy() -> None:
    cache = EdgeCache()
    cache.lookup("ns", "k", T0, 30)
    cache.fill("ns", "k", Entry(b"v"), T0)
    assert cache.lookup("ns", "k", T0 + 29, 3600) is not None
    assert cache.lookup("ns", "k", T0 + 31, 3600) is None


async def test_cache_expiration_wins_over_cached_copy() -> None:
    cache = EdgeCache()
    cache.fill("ns", "k", Entry(b"v", expiration=T0 + 10), T0)
    assert cache.lookup("ns", "k", T0 + 9, 60) is not None
    hit = cache.lookup("ns", "k", T0 + 10, 60)
    assert hit is not None and hit.entry is None


async def test_cache_wrote_is_read_back_at_once() -> None:
    cache = EdgeCache()
    cache.fill("ns", "k", Entry(b"old"), T0)
    cache.wrote("ns", "k", Entry(b"new"), T0 + 1)
    hit = cache.lookup("ns", "k", T0 + 1, 60)
    assert hit is not None and hit.entry == Entry(b"new")
    cache.wrote("ns", "k", None, T0 + 2)
    hit = cache.lookup("ns", "k", T0 + 2, 60)
    assert hit is not None and hit.entry is None


async def test_cache_invalidate_and_invalidate_namespace() -> None:
    cache = EdgeCache()
    for ns, key in [("a", "1"), ("a", "2"), ("b", "1")]:
        cache.fill(ns, key, Entry(b"v"), T0)
    cache.invalidate("a", "1")
    assert cache.lookup("a", "1", T0, 60) is None
    cache.invalidate_namespace("a")
    assert cache.lookup("a", "2", T0, 60) is None
    assert cache.lookup("b", "1", T0, 60) is not None
    assert cache.size_bytes == CACHE_ENTRY_OVERHEAD_BYTES + 2


async def test_cache_byte_budget_evicts_least_recently_used() -> None:
    slot = CACHE_ENTRY_OVERHEAD_BYTES + 1 + 100
    cache = EdgeCache(max_bytes=3 * slot)
    for key in "abc":
        cache.fill("ns", key, Entry(b"x" * 100), T0)
    assert cache.lookup("ns", "a", T0, 60) is not None  # "a" is now most recent
    cache.fill("ns", "d", Entry(b"x" * 100), T0)
    assert cache.lookup("ns", "b", T0, 60) is None
    assert {k for k in "acd" if cache.lookup("ns", k, T0, 60)} == set("acd")
    assert cache.size_bytes == 3 * slot and len(cache) == 3


async def test_cache_skips_values_larger_than_budget() -> None:
    cache = EdgeCache(max_bytes=1000)
    cache.fill("ns", "big", Entry(b"x" * 2000), T0)
    assert len(cache) == 0 and cache.size_bytes == 0


async def test_cache_counts_metadata_in_utf8_bytes() -> None:
    cache = EdgeCache()
    cache.fill("ns", "k", Entry(b"", metadata='"é"'), T0)
    assert cache.size_bytes == CACHE_ENTRY_OVERHEAD_BYTES + 1 + 4


async def test_cache_fill_after_a_local_write_is_dropped() -> None:
    # A read misses and goes to the store; meanwhile this location writes the key.
    # The read's (older) store reply must not replace the write.
    cache = EdgeCache()
    assert cache.lookup("ns", "k", T0, 60) is None
    cache.wrote("ns", "k", Entry(b"new"), T0)
    cache.fill("ns", "k", Entry(b"old"), T0)
    hit = cache.lookup("ns", "k", T0, 60)
    assert hit is not None and hit.entry == Entry(b"new")


async def test_cache_fill_after_a_remote_invalidation_is_dropped() -> None:
    cache = EdgeCache()
    assert cache.lookup("ns", "k", T0, 60) is None
    cache.invalidate("ns", "k")
    cache.fill("ns", "k", Entry(b"old"), T0)
    assert cache.lookup("ns", "k", T0, 60) is None


async def test_cache_fill_after_clear_is_dropped_other_keys_unaffected() -> None:
    cache = EdgeCache()
    assert cache.lookup("ns", "k", T0, 60) is None
    cache.clear()
    cache.fill("ns", "k", Entry(b"old"), T0)
    assert len(cache) == 0
    assert cache.lookup("ns", "j", T0, 60) is None
    cache.invalidate("ns", "other")
    cache.fill("ns", "j", Entry(b"v"), T0)
    assert cache.lookup("ns", "j", T0, 60) is not None


async def test_cache_misses_are_tracked_per_task() -> None:
    cache = EdgeCache()
    gate = asyncio.Event()

    async def slow_reader() -> None:
        assert cache.lookup("ns", "k", T0, 60) is None
        await gate.wait()
        cache.fill("ns", "k", Entry(b"old"), T0)

    async def fresh_reader() -> None:
        assert cache.lookup("ns", "k", T0, 60) is None
        cache.fill("ns", "k", Entry(b"new"), T0)

    task = asyncio.create_task(slow_reader())
    await asyncio.sleep(0)
    cache.invalidate("ns", "k")  # a write elsewhere, after the slow read started
    await fresh_reader()  # started after the write: its fill counts
    gate.set()
    await task
    hit = cache.lookup("ns", "k", T0, 60)
    assert hit is not None and hit.entry == Entry(b"new")


# --- two locations over one store ---------------------------------------------


def _locations(clock: Clock) -> tuple[KVNamespace, KVNamespace]:
    store = open_store("memory://")
    a = KVNamespace(store, "shared", clock=clock, cache=EdgeCache())
    b = KVNamespace(store, "shared", clock=clock, cache=EdgeCache())
    return a, b


async def test_locations_reader_elsewhere_stale_until_cache_ttl() -> None:
    clock = Clock()
    a, b = _locations(clock)
    await a.put("k", "old")
    assert await b.get("k") == "old"
    await a.put("k", "new")
    assert await a.get("k") == "new"  # read-your-writes at A
    clock.now += DEFAULT_CACHE_TTL - 1
    assert await b.get("k") == "old"
    clock.now += 1
    assert await b.get("k") == "new"


async def test_locations_new_key_invisible_elsewhere_until_negative_cache_expires() -> None:
    clock = Clock()
    a, b = _locations(clock)
    assert await b.get("k") is None
    await a.put("k", "v")
    clock.now += 30
    assert await b.get("k") is None
    result = await b.get_with_metadata("k", cache_ttl=30)  # shorter TTL: refetch now
    assert result.value == "v" and result.cache_status == "MISS"
    assert (await b.get_with_metadata("k")).cache_status == "HIT"


async def test_locations_delete_propagates_like_a_write() -> None:
    clock = Clock()
    a, b = _locations(clock)
    await a.put("k", "v")
    assert await b.get("k") == "v"
    await a.delete("k")
    assert await a.get("k") is None
    assert await b.get("k") == "v"
    clock.now += DEFAULT_CACHE_TTL
    assert await b.get("k") is None


async def test_locations_expiration_wins_over_cache_elsewhere() -> None:
    clock = Clock()
    a, b = _locations(clock)
    await a.put("k", "v", expiration_ttl=60)
    assert await b.get("k") == "v"
    clock.now += 59
    assert await b.get("k") == "v"
    clock.now += 1
    assert await b.get("k") is None
    assert await a.get("k") is None
