"""``list`` (docs/kv.md): UTF-8 byte order, literal prefixes, limits, cursors and
pagination under churn, against every store kind."""

from __future__ import annotations

import asyncio
import base64
import random

import pytest

from kv import KeyItem, KVError, KVNamespace, ListResult
from kv.backends import WriteOp
from runtime.testing import FakeClock

INVALID_CURSOR = "KV GET failed: 400 Invalid cursor."


async def names(ns: KVNamespace, **options: object) -> list[str]:
    return [k.name for k in (await ns.list(**options)).keys]  # type: ignore[arg-type]


async def walk(ns: KVNamespace, prefix: str | None = None, limit: int = 1000) -> list[str]:
    """Every key under ``prefix``, page by page."""
    found: list[str] = []
    cursor = None
    while True:
        page = await ns.list(prefix=prefix, limit=limit, cursor=cursor)
        found += [k.name for k in page.keys]
        if page.list_complete:
            return found
        cursor = page.cursor


async def test_list_empty_namespace_is_complete(ns: KVNamespace) -> None:
    page = await ns.list()
    assert (page.keys, page.list_complete, page.cursor, page.cache_status) == ([], True, None, None)
    assert page == {"keys": [], "list_complete": True, "cacheStatus": None}


async def test_list_orders_by_utf8_bytes_including_astral(ns: KVNamespace) -> None:
    keys = ["b", "a", "B", "é", "\uffff", "\U00010000", "z", "aa", "a\x00", "~", "\u00e9a"]
    for key in keys:
        await ns.put(key, "v")
    expected = sorted(keys, key=lambda k: k.encode())
    assert await names(ns) == expected
    # UTF-8 byte order puts U+FFFF before U+10000 (UTF-16 code units would not).
    assert expected.index("\uffff") < expected.index("\U00010000")
    assert await walk(ns, limit=2) == expected


async def test_list_prefix_is_exact_bytewise_and_literal(ns: KVNamespace) -> None:
    keys = ["a%b", "a_b", "a\\b", "axb", "A%b", "a%", "a", "a%bc", "a\\\\"]
    for key in keys:
        await ns.put(key, "v")
    assert await names(ns, prefix="a%") == ["a%", "a%b", "a%bc"]
    assert await names(ns, prefix="a_") == ["a_b"]
    assert await names(ns, prefix="a\\") == ["a\\\\", "a\\b"]
    assert await names(ns, prefix="a%b") == ["a%b", "a%bc"]
    assert await names(ns, prefix="A") == ["A%b"]
    assert await names(ns, prefix="nope") == []
    assert await names(ns, prefix="") == sorted(keys, key=lambda k: k.encode())


async def test_list_prefix_with_multibyte_and_astral_chars(ns: KVNamespace) -> None:
    for key in ["é1", "é2", "e1", "\U0001f600x", "\U0001f600", "\U0001f601"]:
        await ns.put(key, "v")
    assert await names(ns, prefix="é") == ["é1", "é2"]
    assert await names(ns, prefix="\U0001f600") == ["\U0001f600", "\U0001f600x"]


async def test_list_reports_expiration_and_metadata_only_when_set(
    ns: KVNamespace, clock: FakeClock
) -> None:
    await ns.put("a", "v")
    await ns.put("b", "v", expiration_ttl=100)
    await ns.put("c", "v", metadata={"m": 1})
    page = await ns.list()
    a, b, c = page.keys
    assert isinstance(a, KeyItem)
    assert (a.name, a.expiration, a.metadata) == ("a", None, None)
    assert b.expiration == int(clock()) + 100 and isinstance(b.expiration, int)
    assert c.metadata == {"m": 1}
    assert a["name"] == "a"
    with pytest.raises(KeyError):
        a["expiration"]
    with pytest.raises(KeyError):
        a["metadata"]
    assert "expiration" in b and "metadata" not in b
    assert page["keys"][2]["metadata"] == {"m": 1}
    assert page.to_dict() == {
        "keys": [
            {"name": "a"},
            {"name": "b", "expiration": int(clock()) + 100},
            {"name": "c", "metadata": {"m": 1}},
        ],
        "list_complete": True,
        "cacheStatus": None,
    }


async def test_list_limit_boundaries(ns: KVNamespace) -> None:
    await ns.put("k", "v")
    assert await names(ns, limit=1000) == ["k"]
    with pytest.raises(KVError) as err:
        await ns.list(limit=1001)
    assert str(err.value) == (
        "KV GET failed: 400 Invalid key_count_limit of 1001."
        " Please specify an integer less than 1000."
    )
    assert (err.value.status, err.value.operation) == (400, "GET")
    assert await names(ns, limit=0) == ["k"]
    assert await names(ns, limit=-5) == ["k"]
    with pytest.raises(KVError):
        await ns.list(limit="10")  # type: ignore[arg-type]


async def test_list_default_limit_is_1000(ns: KVNamespace) -> None:
    await ns.store.write_batch(ns.id, [WriteOp(f"k{i:04d}", b"") for i in range(1001)])
    page = await ns.list()
    assert len(page.keys) == 1000 and not page.list_complete
    rest = await ns.list(cursor=page.cursor)
    assert [k.name for k in rest.keys] == ["k1000"] and rest.list_complete


async def test_list_exact_page_fill_is_complete_without_cursor(ns: KVNamespace) -> None:
    for key in "abc":
        await ns.put(key, "v")
    page = await ns.list(limit=3)
    assert page.list_complete and page.cursor is None
    assert "cursor" not in page
    with pytest.raises(KeyError):
        page["cursor"]
    page = await ns.list(limit=2)
    assert not page.list_complete
    assert isinstance(page.cursor, str) and page["cursor"] == page.cursor


async def test_list_prefix_over_512_bytes_is_414(ns: KVNamespace) -> None:
    assert await names(ns, prefix="p" * 512) == []
    with pytest.raises(KVError) as err:
        await ns.list(prefix="é" * 257)
    assert str(err.value) == (
        "KV GET failed: 414 UTF-8 encoded length of 514 exceeds key length limit of 512."
    )


async def test_list_variable_limit_between_pages(ns: KVNamespace) -> None:
    for i in range(10):
        await ns.put(f"k{i}", "v")
    page = await ns.list(limit=3)
    got = [k.name for k in page.keys]
    page = await ns.list(limit=5, cursor=page.cursor)
    got += [k.name for k in page.keys]
    page = await ns.list(cursor=page.cursor)
    got += [k.name for k in page.keys]
    assert page.list_complete
    assert got == [f"k{i}" for i in range(10)]


async def test_list_pagination_while_keys_change(ns: KVNamespace) -> None:
    for key in ["b", "d", "f", "h"]:
        await ns.put(key, "v")
    page = await ns.list(limit=2)
    assert [k.name for k in page.keys] == ["b", "d"]
    await ns.put("a", "v")  # behind the cursor: skipped
    await ns.put("c", "v")  # behind the cursor: skipped
    await ns.put("e", "v")  # ahead: appears
    await ns.delete("f")  # ahead, deleted: never appears
    await ns.delete("d")  # the cursor's own key: resuming still works
    rest = await ns.list(cursor=page.cursor)
    assert [k.name for k in rest.keys] == ["e", "h"]
    assert rest.list_complete


async def test_list_skips_expired_keys(ns: KVNamespace, clock: FakeClock) -> None:
    await ns.put("a", "v", expiration_ttl=60)
    await ns.put("b", "v", expiration_ttl=120)
    await ns.put("c", "v")
    clock.advance(60)
    assert await names(ns) == ["b", "c"]
    clock.advance(60)
    assert await names(ns) == ["c"]
    assert await walk(ns, limit=1) == ["c"]


async def test_list_options_dict_and_none(ns: KVNamespace) -> None:
    for key in ["p1", "p2", "q"]:
        await ns.put(key, "v")
    page = await ns.list({"prefix": "p", "limit": 1})
    assert [k.name for k in page.keys] == ["p1"]
    page = await ns.list({"prefix": "p", "cursor": page.cursor})
    assert [k.name for k in page.keys] == ["p2"]
    assert len((await ns.list(None)).keys) == 3
    assert len((await ns.list({"cursor": None, "prefix": None})).keys) == 3


async def test_list_cursor_is_opaque_str_and_tampering_is_invalid(ns: KVNamespace) -> None:
    for key in ["a", "b", "c"]:
        await ns.put(key, "v")
    cursor = (await ns.list(limit=1)).cursor
    assert isinstance(cursor, str)
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-3] ^= 1
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    miniflare_style = base64.b64encode(b"a").decode()
    for bad in [forged, cursor[:-1], cursor + "A", cursor + "!", "garbage", miniflare_style, "é"]:
        with pytest.raises(KVError) as err:
            await ns.list(cursor=bad)
        assert str(err.value) == INVALID_CURSOR
        assert err.value.status == 400
    with pytest.raises(KVError):
        await ns.list(cursor=123)  # type: ignore[arg-type]


async def test_list_cursor_needs_the_same_prefix_and_namespace(ns: KVNamespace) -> None:
    for key in ["p1", "p2", "p3"]:
        await ns.put(key, "v")
    cursor = (await ns.list(prefix="p", limit=1)).cursor
    assert [k.name for k in (await ns.list(prefix="p", cursor=cursor)).keys] == ["p2", "p3"]
    for prefix in (None, "p1", "q"):
        with pytest.raises(KVError) as err:
            await ns.list(prefix=prefix, cursor=cursor)
        assert str(err.value) == INVALID_CURSOR
    other = KVNamespace(ns.store, "other-ns", clock=ns.clock)
    with pytest.raises(KVError) as err:
        await other.list(prefix="p", cursor=cursor)
    assert str(err.value) == INVALID_CURSOR


async def test_list_empty_cursor_means_first_page(ns: KVNamespace) -> None:
    await ns.put("a", "v")
    assert await names(ns, cursor="") == ["a"]


async def test_list_walks_a_larger_namespace_exactly_once(ns: KVNamespace) -> None:
    keys = [f"user:{i:05d}" for i in range(2500)] + ["other"]
    await ns.store.write_batch(ns.id, [WriteOp(k, b"x") for k in keys])
    assert await walk(ns, prefix="user:", limit=1000) == sorted(keys[:-1])
    result = await ns.list(prefix="user:", limit=7)
    assert isinstance(result, ListResult) and len(result.keys) == 7


async def test_list_walk_under_concurrent_churn_returns_stable_keys_once(
    ns: KVNamespace,
) -> None:
    """Keys present for the whole walk appear exactly once, in order, while other tasks
    insert and delete keys of the same prefix between pages (reliability L7)."""
    rng = random.Random(7)
    stable = [f"p:{i:04d}" for i in range(0, 600, 2)]
    await ns.store.write_batch(ns.id, [WriteOp(k, b"s") for k in stable])
    churn = [f"p:{i:04d}" for i in range(1, 600, 2)]
    walking = True

    async def writer() -> None:
        while walking:
            key = rng.choice(churn)
            if rng.random() < 0.5:
                await ns.put(key, "c")
            else:
                await ns.delete(key)
            await asyncio.sleep(0)

    tasks = [asyncio.create_task(writer()) for _ in range(3)]
    seen: list[str] = []
    cursor = None
    try:
        while True:
            page = await ns.list(prefix="p:", limit=25, cursor=cursor)
            seen += [k.name for k in page.keys]
            await asyncio.sleep(0)
            if page.list_complete:
                break
            cursor = page.cursor
    finally:
        walking = False
        await asyncio.gather(*tasks)
    assert seen == sorted(set(seen))  # ordered, no duplicates
    assert [k for k in seen if k in set(stable)] == stable
