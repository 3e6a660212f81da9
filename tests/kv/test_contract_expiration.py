"""Expiration (docs/kv.md) with a fake clock: no test sleeps. Against every store."""

from __future__ import annotations

from kv import KVNamespace
from kv.backends import Store
from runtime.testing import FakeClock


async def test_ttl_expiry_is_int_now_plus_ttl_and_expired_at_equality(
    ns: KVNamespace, clock: FakeClock
) -> None:
    clock.advance(0.75)
    await ns.put("k", "v", expiration_ttl=60)
    expires = int(clock()) + 60
    assert (await ns.list()).keys[0].expiration == expires
    clock.now = expires - 0.001
    assert await ns.get("k") == "v"
    clock.now = expires  # expiration <= now: expired
    assert await ns.get("k") is None


async def test_expired_key_is_gone_for_every_read(ns: KVNamespace, clock: FakeClock) -> None:
    await ns.put("k", "v", expiration_ttl=60, metadata={"m": 1})
    await ns.put("stay", "v")
    assert await ns.get("k") == "v"  # read before expiry, then again after
    clock.advance(60)
    assert await ns.get("k") is None
    assert await ns.get("k", "stream") is None
    assert await ns.get("k", "bytes") is None
    got = await ns.get_with_metadata("k")
    assert (got.value, got.metadata) == (None, None)
    assert await ns.get(["k", "stay"]) == {"k": None, "stay": "v"}
    assert await ns.get_with_metadata(["k"]) == {"k": None}
    assert [k.name for k in (await ns.list()).keys] == ["stay"]


async def test_never_read_key_expires_too(ns: KVNamespace, clock: FakeClock) -> None:
    await ns.put("k", "v", expiration=int(clock()) + 3600)
    clock.advance(3600)
    assert (await ns.list()).keys == []
    assert await ns.get("k") is None


async def test_absolute_expiration_is_kept_exactly(ns: KVNamespace, clock: FakeClock) -> None:
    target = int(clock()) + 86_400
    await ns.put("k", "v", expiration=target)
    assert (await ns.list()).keys[0].expiration == target
    clock.now = target - 1
    assert await ns.get("k") == "v"
    clock.now = target
    assert await ns.get("k") is None


async def test_put_after_expiry_creates_a_fresh_entry(ns: KVNamespace, clock: FakeClock) -> None:
    await ns.put("k", "old", expiration_ttl=60, metadata={"old": True})
    clock.advance(120)
    await ns.put("k", "new")
    got = await ns.get_with_metadata("k")
    assert (got.value, got.metadata) == ("new", None)
    clock.advance(10_000)
    assert await ns.get("k") == "new"


async def test_rewrite_with_later_expiry_survives_the_first_one(
    ns: KVNamespace, clock: FakeClock
) -> None:
    await ns.put("k", "v1", expiration_ttl=60)
    await ns.put("k", "v2", expiration_ttl=600)
    clock.advance(61)
    assert await ns.get("k") == "v2"
    assert [k.name for k in (await ns.list()).keys] == ["k"]
    clock.advance(600)
    assert await ns.get("k") is None


async def test_store_follows_the_namespace_clock_not_wall_time(store: Store) -> None:
    """A clock far in the past keeps entries whose expiration wall time has passed."""
    past = FakeClock(1_000_000_000.0)
    ns = KVNamespace(store, "old-clock", clock=past)
    await ns.put("k", "v", expiration_ttl=60)  # expired long ago in wall time
    assert await ns.get("k") == "v"
    assert [k.name for k in (await ns.list()).keys] == ["k"]
    past.advance(60)
    assert await ns.get("k") is None
