"""What is particular to the memory store: a new store per URL, lazy reclamation,
atomic batches, and its state after ``aclose``."""

from __future__ import annotations

import pytest

from kv import KVError, KVNamespace, StoreUnavailable, open_store
from kv.backends import Entry, WriteOp
from kv.backends.memory import MemoryStore

NOW = 1_700_000_000.0


async def test_memory_each_open_is_a_new_empty_store() -> None:
    first, second = open_store("memory://"), open_store("memory://")
    assert isinstance(first, MemoryStore) and first is not second
    await first.put("ns", "k", b"v", None, None)
    assert await second.get("ns", "k", NOW) is None
    assert first.url == "memory://"
    assert isinstance(MemoryStore.from_url("memory://x"), MemoryStore)


async def test_memory_reclaims_expired_entries_lazily() -> None:
    store = MemoryStore()
    for i in range(50):
        await store.put("ns", f"k{i}", b"v", NOW + 60, None)
    await store.put("ns", "stay", b"v", None, None)
    await store.put("other", "k", b"v", NOW + 60, None)
    assert len(store._spaces["ns"].entries) == 51
    assert await store.get("ns", "stay", NOW + 60) == Entry(b"v")
    assert list(store._spaces["ns"].entries) == [b"stay"]
    assert store._spaces["ns"].expiries == []
    # Another namespace is reclaimed by its own reads only (its clock may differ).
    assert len(store._spaces["other"].entries) == 1


async def test_memory_rewrites_do_not_grow_the_expiry_heap_unbounded() -> None:
    store = MemoryStore()
    for i in range(10_000):
        await store.put("ns", "k", b"v", NOW + 60 + i, None)
    assert len(store._spaces["ns"].expiries) < 200
    assert await store.get("ns", "k", NOW + 60 + 9_998) == Entry(b"v", NOW + 60 + 9_999)


async def test_memory_rewrite_keeps_entry_whose_old_expiry_passes() -> None:
    store = MemoryStore()
    await store.put("ns", "k", b"old", NOW + 60, None)
    await store.put("ns", "k", b"new", NOW + 600, None)
    assert await store.get("ns", "k", NOW + 60) == Entry(b"new", NOW + 600)


async def test_memory_write_batch_is_all_or_nothing() -> None:
    store = MemoryStore()
    await store.put("ns", "a", b"old", None, None)
    bad = WriteOp("b", "not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await store.write_batch("ns", [WriteOp("a", b"new"), bad])
    assert await store.get("ns", "a", NOW) == Entry(b"old")
    assert await store.get("ns", "b", NOW) is None


async def test_memory_copies_buffers_it_is_given() -> None:
    store = MemoryStore()
    data = bytearray(b"abc")
    await store.put("ns", "k", data, None, None)
    await store.write_batch("ns", [WriteOp("j", data)])
    data[0] = ord("X")
    assert [e.value for e in await store.get_many("ns", ["k", "j"], NOW) if e] == [b"abc"] * 2


async def test_memory_closed_store_is_unavailable_and_namespace_says_503() -> None:
    async with MemoryStore() as store:
        await store.put("ns", "k", b"v", None, None)
    with pytest.raises(StoreUnavailable):
        await store.get("ns", "k", NOW)
    with pytest.raises(StoreUnavailable):
        await store.check()
    with pytest.raises(KVError) as err:
        await KVNamespace(store, "ns").get("k")
    assert str(err.value) == "KV GET failed: 503 Store unavailable: memory:// is closed"
