"""The store protocol (kv/backends/base.py) exercised directly, against every store kind:
what ``KVNamespace`` relies on from a backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from kv import open_store
from kv.backends import Entry, KeyInfo, Store, StreamEntry, WriteOp
from tests.kv.conftest import STORE_KINDS, store_url

NOW = 1_700_000_000.0


async def test_store_put_get_entry_fields(store: Store) -> None:
    assert await store.get("ns", "k", NOW) is None
    await store.put("ns", "k", b"v", NOW + 100, '{"m":1}')
    assert await store.get("ns", "k", NOW) == Entry(b"v", NOW + 100, '{"m":1}')
    await store.put("ns", "k", bytearray(b"w"), None, None)
    got = await store.get("ns", "k", NOW)
    assert got == Entry(b"w", None, None) and isinstance(got.value, bytes)
    await store.put("ns", "k", memoryview(b"xyz")[1:], None, None)
    assert (await store.get("ns", "k", NOW)) == Entry(b"yz")


async def test_store_empty_value_is_not_missing(store: Store) -> None:
    await store.put("ns", "k", b"", None, None)
    assert await store.get("ns", "k", NOW) == Entry(b"")


async def test_store_expiry_follows_the_given_now(store: Store) -> None:
    await store.put("ns", "k", b"v", 100.0, None)  # long past in wall time
    assert await store.get("ns", "k", 99.5) == Entry(b"v", 100.0)
    assert [i.name for i in await store.list_keys("ns", "", None, 10, 99.5)] == ["k"]
    assert await store.get("ns", "k", 100.0) is None
    assert await store.list_keys("ns", "", None, 10, 100.0) == []
    assert await store.get_many("ns", ["k"], 100.0) == [None]
    assert await store.stream("ns", "k", 100.0, 16) is None


async def test_store_get_many_keeps_order(store: Store) -> None:
    await store.put("ns", "a", b"1", None, None)
    await store.put("ns", "c", b"3", None, '"m"')
    got = await store.get_many("ns", ["c", "b", "a"], NOW)
    assert got == [Entry(b"3", None, '"m"'), None, Entry(b"1")]


async def test_store_stream_chunks_are_bounded(store: Store) -> None:
    value = bytes(range(256)) * 40  # 10 KiB
    await store.put("ns", "k", value, NOW + 60, '"m"')
    found = await store.stream("ns", "k", NOW, 1000)
    assert isinstance(found, StreamEntry)
    assert (found.size, found.expiration, found.metadata) == (len(value), NOW + 60, '"m"')
    chunks = [c async for c in found.chunks]
    assert all(0 < len(c) <= 1000 for c in chunks)
    assert b"".join(chunks) == value
    assert await store.stream("ns", "missing", NOW, 1000) is None


async def test_store_list_keys_order_prefix_start_after_limit(store: Store) -> None:
    keys = ["a", "ab", "b", "b\x00", "é", "\uffff", "\U00010000", "ba"]
    for key in keys:
        await store.put("ns", key, b"", None, None)
    ordered = sorted(keys, key=lambda k: k.encode())
    got = await store.list_keys("ns", "", None, 100, NOW)
    assert [i.name for i in got] == ordered
    assert all(isinstance(i, KeyInfo) for i in got)
    assert [i.name for i in await store.list_keys("ns", "b", None, 100, NOW)] == [
        "b",
        "b\x00",
        "ba",
    ]
    assert [i.name for i in await store.list_keys("ns", "b", "b", 100, NOW)] == ["b\x00", "ba"]
    assert [i.name for i in await store.list_keys("ns", "b", "a", 100, NOW)] == [
        "b",
        "b\x00",
        "ba",
    ]
    assert [i.name for i in await store.list_keys("ns", "b", "bz", 100, NOW)] == []
    assert [i.name for i in await store.list_keys("ns", "", "b", 2, NOW)] == ["b\x00", "ba"]
    assert await store.list_keys("ns", "", None, 0, NOW) == []


async def test_store_list_keys_reports_expiration_and_metadata(store: Store) -> None:
    await store.put("ns", "k", b"v", NOW + 60, '{"a":1}')
    assert await store.list_keys("ns", "", None, 10, NOW) == [KeyInfo("k", NOW + 60, '{"a":1}')]


async def test_store_write_batch_puts_and_deletes(store: Store) -> None:
    await store.put("ns", "gone", b"x", None, None)
    await store.write_batch(
        "ns",
        [
            WriteOp("a", b"1"),
            WriteOp("b", bytearray(b"2"), NOW + 60, '"m"'),
            WriteOp("gone", None),
            WriteOp("a", b"1b"),
            WriteOp("never", None),
        ],
    )
    assert await store.get_many("ns", ["a", "b", "gone"], NOW) == [
        Entry(b"1b"),
        Entry(b"2", NOW + 60, '"m"'),
        None,
    ]
    await store.write_batch("ns", [])


async def test_store_namespaces_isolated_created_and_deleted(store: Store) -> None:
    await store.put("one", "k", b"1", None, None)
    await store.put("two", "k", b"2", None, None)
    await store.create_namespace("empty")
    await store.create_namespace("empty")
    assert await store.list_namespaces() == ["empty", "one", "two"]
    assert await store.get("one", "k", NOW) == Entry(b"1")
    await store.delete_namespace("one")
    assert await store.get("one", "k", NOW) is None
    assert await store.list_keys("one", "", None, 10, NOW) == []
    assert await store.get("two", "k", NOW) == Entry(b"2")
    assert "one" not in await store.list_namespaces()
    await store.delete_namespace("never-existed")


async def test_store_created_namespace_stays_listed_when_emptied(store: Store) -> None:
    await store.create_namespace("kept")
    await store.put("kept", "k", b"v", None, None)
    await store.delete("kept", "k")
    assert "kept" in await store.list_namespaces()


async def test_store_delete_missing_is_fine(store: Store) -> None:
    await store.delete("ns", "missing")
    await store.delete("no-such-namespace", "missing")


async def test_store_check_passes_on_a_healthy_store(store: Store) -> None:
    await store.check()
    assert isinstance(store.url, str) and store.url
    assert isinstance(store, Store)


@pytest.mark.parametrize("kind", STORE_KINDS)
async def test_store_is_an_async_context_manager(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with open_store(store_url(kind, tmp_path, request)) as opened:  # type: ignore[attr-defined]
        await opened.put("ns", "k", b"v", None, None)
        assert await opened.get("ns", "k", NOW) == Entry(b"v")
