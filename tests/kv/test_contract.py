"""The KV contract (docs/kv.md): get, get_with_metadata, put, delete through
``KVNamespace`` against every store kind."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from kv import KVError, KVNamespace, ValueWithMetadata
from kv.backends import Store
from runtime.testing import FakeClock

GET_TYPE_MESSAGE = (
    'Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".'
)
PUT_TYPE_MESSAGE = (
    "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values."
)


async def test_get_missing_key_returns_none(ns: KVNamespace) -> None:
    assert await ns.get("nope") is None
    assert await ns.get("nope", "json") is None
    assert await ns.get("nope", "stream") is None


async def test_put_get_text_roundtrip_with_unicode(ns: KVNamespace) -> None:
    await ns.put("k", "héllo 🌍")
    assert await ns.get("k") == "héllo 🌍"
    assert await ns.get("k", "bytes") == "héllo 🌍".encode()


async def test_put_empty_string_reads_back_as_empty(ns: KVNamespace) -> None:
    await ns.put("k", "")
    assert await ns.get("k") == ""
    assert await ns.get("k", "bytes") == b""


@pytest.mark.parametrize(
    "value",
    [b"\x00\xffraw", bytearray(b"\x00\xffraw"), memoryview(b"\x00\xffraw")],
    ids=["bytes", "bytearray", "memoryview"],
)
async def test_put_buffers_roundtrip_as_bytes(ns: KVNamespace, value: object) -> None:
    await ns.put("k", value)  # type: ignore[arg-type]
    got = await ns.get("k", "arrayBuffer")
    assert isinstance(got, bytes)
    assert got == b"\x00\xffraw"


async def test_put_memoryview_of_wider_items_stores_its_bytes(ns: KVNamespace) -> None:
    import array

    numbers = array.array("H", [1, 2, 3])
    await ns.put("k", memoryview(numbers))
    assert await ns.get("k", "bytes") == numbers.tobytes()


async def test_put_copies_a_bytearray_so_later_changes_do_not_leak(ns: KVNamespace) -> None:
    data = bytearray(b"abc")
    await ns.put("k", data)
    data[0] = ord("X")
    assert await ns.get("k") == "abc"


async def test_get_json_parses_and_rejects_non_json(ns: KVNamespace) -> None:
    await ns.put("j", json.dumps({"a": [1, 2, None]}))
    assert await ns.get("j", "json") == {"a": [1, 2, None]}
    await ns.put("t", "not json")
    with pytest.raises(json.JSONDecodeError):
        await ns.get("t", "json")


async def test_get_text_of_non_utf8_bytes_replaces_like_textdecoder(ns: KVNamespace) -> None:
    await ns.put("k", b"a\xffb")
    assert await ns.get("k") == "a\ufffdb"


async def test_get_unknown_type_raises_typeerror(ns: KVNamespace) -> None:
    await ns.put("k", "v")
    for bad in ("txt", "ArrayBuffer", 3):
        with pytest.raises(TypeError) as err:
            await ns.get("k", bad)  # type: ignore[arg-type]
        assert str(err.value) == GET_TYPE_MESSAGE


async def test_get_stream_yields_bytes_chunks(ns: KVNamespace) -> None:
    await ns.put("k", "stream me")
    chunks = await ns.get("k", type="stream")
    assert b"".join([c async for c in chunks]) == b"stream me"


async def test_get_options_dict_and_cachettl_alias(ns: KVNamespace) -> None:
    await ns.put("k", '{"n": 1}')
    assert await ns.get("k", {"type": "json", "cacheTtl": 60}) == {"n": 1}
    assert await ns.get("k", {"type": "json"}) == {"n": 1}
    assert await ns.get("k", {}) == '{"n": 1}'
    assert await ns.get("k", None) == '{"n": 1}'
    assert await ns.get("k", "json", cacheTtl=300) == {"n": 1}
    assert await ns.get("k", type="json", cache_ttl=300) == {"n": 1}
    with pytest.raises(KVError) as err:
        await ns.get("k", {"cache_ttl": 10})
    assert (
        str(err.value)
        == "KV GET failed: 400 Invalid cache_ttl of 10. Cache TTL must be at least 30."
    )


async def test_get_cache_ttl_boundary_is_30(ns: KVNamespace) -> None:
    await ns.put("k", "v")
    assert await ns.get("k", cache_ttl=30) == "v"
    with pytest.raises(KVError) as err:
        await ns.get("k", cache_ttl=29)
    assert (err.value.status, err.value.operation) == (400, "GET")
    assert (
        str(err.value)
        == "KV GET failed: 400 Invalid cache_ttl of 29. Cache TTL must be at least 30."
    )


async def test_get_with_metadata_returns_value_metadata_status(ns: KVNamespace) -> None:
    await ns.put("k", "v", metadata={"tag": "x", "n": [1, 2]})
    got = await ns.get_with_metadata("k")
    assert isinstance(got, ValueWithMetadata)
    assert (got.value, got.metadata, got.cache_status) == ("v", {"tag": "x", "n": [1, 2]}, None)
    assert got["value"] == "v"
    assert got["metadata"] == {"tag": "x", "n": [1, 2]}
    assert got["cacheStatus"] is None


async def test_get_with_metadata_missing_key_is_all_none(ns: KVNamespace) -> None:
    got = await ns.getWithMetadata("missing")
    assert (got.value, got.metadata, got.cache_status) == (None, None, None)


async def test_get_with_metadata_without_metadata_and_types(ns: KVNamespace) -> None:
    await ns.put("k", "[1]")
    got = await ns.get_with_metadata("k", "json")
    assert (got.value, got.metadata) == ([1], None)
    got = await ns.get_with_metadata("k", {"type": "bytes"})
    assert got.value == b"[1]"


@pytest.mark.parametrize("falsy", [0, False, "", []])
async def test_get_with_metadata_keeps_falsy_metadata(ns: KVNamespace, falsy: object) -> None:
    await ns.put("k", "v", metadata=falsy)
    assert (await ns.get_with_metadata("k")).metadata == falsy


async def test_put_replaces_value_expiration_and_metadata(
    ns: KVNamespace, clock: FakeClock
) -> None:
    await ns.put("k", "one", expiration_ttl=120, metadata={"v": 1})
    await ns.put("k", "two")
    got = await ns.get_with_metadata("k")
    assert (got.value, got.metadata) == ("two", None)
    listed = await ns.list()
    assert listed.keys[0].expiration is None
    clock.advance(1000)
    assert await ns.get("k") == "two"


async def test_put_rejects_other_value_types(ns: KVNamespace) -> None:
    for bad in (1, 1.5, None, {"a": 1}, ["a"], object()):
        with pytest.raises(TypeError) as err:
            await ns.put("k", bad)  # type: ignore[arg-type]
        assert str(err.value) == PUT_TYPE_MESSAGE
    assert await ns.get("k") is None


async def test_put_async_iterable_streams_chunks(ns: KVNamespace) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"hello "
        yield bytearray(b"stream")
        yield memoryview(b"ed")

    await ns.put("k", body())
    assert await ns.get("k") == "hello streamed"


async def test_put_async_iterable_of_bad_chunks_is_typeerror(ns: KVNamespace) -> None:
    async def body() -> AsyncIterator[object]:
        yield b"ok"
        yield 42

    await ns.put("k", "old")
    with pytest.raises(TypeError):
        await ns.put("k", body())  # type: ignore[arg-type]
    assert await ns.get("k") == "old"


async def test_put_options_dict_and_aliases(ns: KVNamespace, clock: FakeClock) -> None:
    now = int(clock())
    await ns.put("a", "1", {"expirationTtl": 100, "metadata": {"m": 1}})
    await ns.put("b", "2", {"expiration_ttl": 200})
    await ns.put("c", "3", expirationTtl=300)
    await ns.put("d", "4", {"expiration": now + 400})
    await ns.put("e", "5", None, metadata="m")
    page = await ns.list()
    assert [(k.name, k.expiration, k.metadata) for k in page.keys] == [
        ("a", now + 100, {"m": 1}),
        ("b", now + 200, None),
        ("c", now + 300, None),
        ("d", now + 400, None),
        ("e", None, "m"),
    ]


async def test_put_keyword_wins_over_options_dict(ns: KVNamespace, clock: FakeClock) -> None:
    await ns.put("k", "v", {"expirationTtl": 100, "metadata": 1}, expiration_ttl=500, metadata=2)
    page = await ns.list()
    assert (page.keys[0].expiration, page.keys[0].metadata) == (int(clock()) + 500, 2)


async def test_delete_removes_and_missing_delete_succeeds(ns: KVNamespace) -> None:
    await ns.put("k", "v")
    await ns.delete("k")
    assert await ns.get("k") is None
    await ns.delete("k")
    await ns.delete("never-there")


async def test_keys_are_case_sensitive(ns: KVNamespace) -> None:
    await ns.put("Key", "upper")
    await ns.put("key", "lower")
    assert (await ns.get("Key"), await ns.get("key")) == ("upper", "lower")


async def test_namespaces_are_isolated(store: Store, clock: FakeClock) -> None:
    a = KVNamespace(store, "a", clock=clock)
    b = KVNamespace(store, "b", clock=clock)
    await a.put("k", "from a")
    assert await b.get("k") is None
    assert (await b.list()).keys == []
    await b.put("k", "from b")
    await b.delete("k")
    assert await a.get("k") == "from a"
    same = KVNamespace(store, "a", clock=clock)
    assert await same.get("k") == "from a"


async def test_namespace_exposes_id_store_and_without_cache(store: Store) -> None:
    ns = KVNamespace(store, "site")
    assert ns.id == "site"
    assert ns.store is store
    plain = ns.without_cache()
    assert (plain.id, plain.store, plain.cache) == ("site", store, None)
    await ns.put("k", "v")
    assert await plain.get("k") == "v"
