"""``Store.compare_and_swap`` against every store kind: the one atomic primitive that
deploy coordination (a lease, a version counter) is built on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kv import open_store
from kv.backends import Entry, Store
from tests.kv.conftest import STORE_KINDS, store_url

NOW = 1_700_000_000.0


async def test_compare_and_swap_creates_only_when_absent(store: Store) -> None:
    assert await store.compare_and_swap("ns", "lease", None, b"a", NOW)
    assert not await store.compare_and_swap("ns", "lease", None, b"b", NOW)
    assert await store.get("ns", "lease", NOW) == Entry(b"a")
    assert [k.name for k in await store.list_keys("ns", "", None, 10, NOW)] == ["lease"]


async def test_compare_and_swap_replaces_and_deletes_only_on_match(store: Store) -> None:
    await store.put("ns", "k", b"one", None, '{"m":1}')
    assert not await store.compare_and_swap("ns", "k", b"other", b"two", NOW)
    assert not await store.compare_and_swap("ns", "k", None, b"two", NOW)
    assert await store.compare_and_swap("ns", "k", b"one", b"two", NOW)
    assert await store.get("ns", "k", NOW) == Entry(b"two")
    assert not await store.compare_and_swap("ns", "k", b"one", None, NOW)
    assert await store.compare_and_swap("ns", "k", b"two", None, NOW)
    assert await store.get("ns", "k", NOW) is None
    assert await store.list_keys("ns", "", None, 10, NOW) == []


async def test_compare_and_swap_treats_an_expired_entry_as_absent(store: Store) -> None:
    await store.put("ns", "k", b"old", NOW - 1, None)
    assert not await store.compare_and_swap("ns", "k", b"old", b"new", NOW)
    assert await store.compare_and_swap("ns", "k", None, b"new", NOW)
    assert await store.get("ns", "k", NOW + 10_000) == Entry(b"new")


async def test_compare_and_swap_never_matches_across_namespaces(store: Store) -> None:
    await store.put("a", "k", b"v", None, None)
    assert not await store.compare_and_swap("b", "k", b"v", b"w", NOW)
    assert await store.compare_and_swap("b", "k", None, b"w", NOW)
    assert await store.get("a", "k", NOW) == Entry(b"v")


@pytest.mark.parametrize("kind", STORE_KINDS)
async def test_compare_and_swap_counter_loses_no_increment_between_two_stores(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = store_url(kind, tmp_path, request)
    first = open_store(url)
    second = first if kind == "memory" else open_store(url)
    per_store = 25

    async def increment(store: Store) -> int:
        tries = 0
        while True:
            tries += 1
            entry = await store.get("ns", "n", NOW)
            current = None if entry is None else entry.value
            value = str(int(current or b"0") + 1).encode()
            await asyncio.sleep(0)  # let the others read the same value: a real race
            if await store.compare_and_swap("ns", "n", current, value, NOW):
                return tries

    try:
        tries = await asyncio.gather(
            *(increment(s) for s in (first, second) for _ in range(per_store))
        )
        entry = await first.get("ns", "n", NOW)
        assert entry is not None and int(entry.value) == 2 * per_store
        assert max(tries) > 1  # they did race: some swaps were refused and retried
    finally:
        await first.aclose()
        if second is not first:
            await second.aclose()
