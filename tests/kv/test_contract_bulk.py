"""Bulk get and bulk get_with_metadata (docs/kv.md), against every store kind."""

from __future__ import annotations

import pytest

from kv import KVError, KVNamespace, ValueWithMetadata
from kv.limits import MAX_BULK_GET_BYTES


async def expect_bulk_error(ns: KVNamespace, keys: object, type_: str, message: str) -> None:
    with pytest.raises(KVError) as err:
        await ns.get(keys, type_)  # type: ignore[arg-type]
    assert str(err.value) == message
    assert err.value.operation == "GET_BULK"


async def test_bulk_get_keeps_request_order_and_collapses_duplicates(ns: KVNamespace) -> None:
    for key in ["a", "b", "c", "2", "10"]:
        await ns.put(key, key.upper())
    got = await ns.get(["c", "missing", "a", "c", "10", "2"])
    assert list(got) == ["c", "missing", "a", "10", "2"]
    assert got == {"c": "C", "missing": None, "a": "A", "10": "10", "2": "2"}
    assert await ns.get(("b",)) == {"b": "B"}


async def test_bulk_get_json(ns: KVNamespace) -> None:
    await ns.put("j", '{"x": [1]}')
    await ns.put("n", "3")
    assert await ns.get(["j", "n", "none"], "json") == {"j": {"x": [1]}, "n": 3, "none": None}
    assert await ns.get(["j"], {"type": "json", "cacheTtl": 60}) == {"j": {"x": [1]}}


async def test_bulk_get_json_over_non_json_is_400(ns: KVNamespace) -> None:
    await ns.put("j", "{}")
    await ns.put("t", "plain")
    await expect_bulk_error(
        ns,
        ["j", "t"],
        "json",
        "KV GET_BULK failed: 400 At least one of the requested keys corresponds to a non-json value",
    )


async def test_bulk_get_100_keys_ok_101_and_0_rejected(ns: KVNamespace) -> None:
    keys = [f"k{i}" for i in range(100)]
    await ns.put("k7", "seven")
    got = await ns.get(keys)
    assert len(got) == 100 and got["k7"] == "seven" and got["k8"] is None
    await expect_bulk_error(
        ns, [*keys, "k100"], "text", "KV GET_BULK failed: 400 You can request a maximum of 100 keys"
    )
    await expect_bulk_error(
        ns, [], "text", "KV GET_BULK failed: 400 You must request a minimum of 1 key"
    )


async def test_bulk_get_counts_keys_before_collapsing_duplicates(ns: KVNamespace) -> None:
    await expect_bulk_error(
        ns, ["a"] * 101, "text", "KV GET_BULK failed: 400 You can request a maximum of 100 keys"
    )


@pytest.mark.parametrize("bad", ["bytes", "arrayBuffer", "stream", "xml"])
async def test_bulk_get_only_text_and_json(ns: KVNamespace, bad: str) -> None:
    await expect_bulk_error(
        ns, ["a"], bad, f'KV GET_BULK failed: 400 "{bad}" is not a valid type. Use "json" or "text"'
    )


async def test_bulk_get_type_checked_before_key_count(ns: KVNamespace) -> None:
    await expect_bulk_error(
        ns, [], "bytes", 'KV GET_BULK failed: 400 "bytes" is not a valid type. Use "json" or "text"'
    )


async def test_bulk_get_key_rules_are_the_single_key_rules(ns: KVNamespace) -> None:
    for bad, message in [
        ("", "Key name cannot be empty."),
        (".", '"." is not allowed as a key name.'),
        ("..", '".." is not allowed as a key name.'),
    ]:
        with pytest.raises(TypeError) as err:
            await ns.get(["ok", bad])
        assert str(err.value) == message
    await expect_bulk_error(
        ns,
        ["ok", "k" * 513],
        "text",
        "KV GET_BULK failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.",
    )


async def test_bulk_get_cache_ttl_is_validated(ns: KVNamespace) -> None:
    with pytest.raises(KVError) as err:
        await ns.get(["a"], cache_ttl=10)
    assert str(err.value) == (
        "KV GET_BULK failed: 400 Invalid cache_ttl of 10. Cache TTL must be at least 30."
    )


async def test_bulk_get_total_size_over_25_mib_is_413(ns: KVNamespace) -> None:
    half = MAX_BULK_GET_BYTES // 2
    await ns.put("a", bytes(half))
    await ns.put("b", bytes(half))
    got = await ns.get(["a", "b"])
    assert len(got["a"]) + len(got["b"]) == MAX_BULK_GET_BYTES
    await ns.put("c", "x")
    await expect_bulk_error(
        ns,
        ["a", "b", "c"],
        "text",
        "KV GET_BULK failed: 413 Total size of request exceeds the limit of 25MB",
    )


async def test_bulk_get_with_metadata_none_for_missing(ns: KVNamespace) -> None:
    await ns.put("a", "1", metadata={"m": "a"})
    await ns.put("b", "[2]")
    got = await ns.get_with_metadata(["a", "missing", "b"], "json")
    assert list(got) == ["a", "missing", "b"]
    assert got["missing"] is None
    assert isinstance(got["a"], ValueWithMetadata)
    assert (got["a"].value, got["a"].metadata, got["a"].cache_status) == (1, {"m": "a"}, None)
    assert got["b"] == {"value": [2], "metadata": None, "cacheStatus": None}
    assert await ns.getWithMetadata(["a"]) == {
        "a": {"value": "1", "metadata": {"m": "a"}, "cacheStatus": None}
    }


async def test_bulk_get_with_metadata_keeps_falsy_values(ns: KVNamespace) -> None:
    await ns.put("zero", "0")
    await ns.put("false", "false")
    await ns.put("empty", '""')
    got = await ns.get_with_metadata(["zero", "false", "empty"], "json")
    assert [r.value for r in got.values()] == [0, False, ""]
