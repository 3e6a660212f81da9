"""The optional production limits: one write per second per key, 1000 operations per
request. Both are off by default."""

from __future__ import annotations

import asyncio

import pytest

from kv import KVError, KVNamespace, operation_budget
from kv.backends import Store
from runtime.testing import FakeClock


async def test_write_rate_is_not_limited_by_default(ns: KVNamespace) -> None:
    for i in range(5):
        await ns.put("k", str(i))
    assert await ns.get("k") == "4"


async def test_write_rate_limit_one_per_second_per_key(store: Store, clock: FakeClock) -> None:
    ns = KVNamespace(store, "ns", clock=clock, limit_write_rate=True)
    await ns.put("k", "1")
    await ns.put("other", "1")
    with pytest.raises(KVError) as err:
        await ns.put("k", "2")
    assert str(err.value) == "KV PUT failed: 429 Too Many Requests"
    assert (err.value.status, err.value.operation) == (429, "PUT")
    assert await ns.get("k") == "1"
    clock.advance(0.999)
    with pytest.raises(KVError):
        await ns.without_cache().put("k", "2")  # the twin shares the write history
    clock.advance(0.001)
    await ns.put("k", "2")
    assert await ns.get("k") == "2"


async def test_write_rate_failed_put_does_not_count(store: Store, clock: FakeClock) -> None:
    ns = KVNamespace(store, "ns", clock=clock, limit_write_rate=True)
    with pytest.raises(KVError):
        await ns.put("k", "v", expiration_ttl=1)
    await ns.put("k", "v")


async def test_operation_budget_counts_every_op_and_bulk_once(ns: KVNamespace) -> None:
    with operation_budget(limit=5) as budget:
        await ns.put("a", "1")
        await ns.get("a")
        await ns.get([f"k{i}" for i in range(50)])
        await ns.list()
        await ns.delete("a")
        assert budget.used == 5
        with pytest.raises(KVError) as err:
            await ns.get("a")
        assert err.value.status == 429
        assert str(err.value) == (
            "KV GET failed: 429 Too many API requests by single worker invocation."
        )
    for _ in range(10):  # outside a budget nothing is counted
        await ns.get("a")


async def test_operation_budget_is_shared_by_tasks_of_the_request(ns: KVNamespace) -> None:
    with operation_budget(limit=1000) as budget:
        await asyncio.gather(*(ns.get(f"k{i}") for i in range(10)))
        assert budget.used == 10


async def test_operation_budget_default_is_1000(ns: KVNamespace) -> None:
    with operation_budget() as budget:
        assert budget.limit == 1000
