"""A backend's ``StoreUnavailable`` becomes ``KVError(op, 503, "Store unavailable: ...")``
for every operation, with the operation name Workers KV uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from kv import EdgeCache, KVError, KVNamespace, StoreUnavailable
from kv.backends import StreamEntry
from kv.backends.memory import MemoryStore


class FlakyStore(MemoryStore):
    """A memory store that fails every data call while ``down`` is set."""

    down = False

    def _fail(self) -> None:
        if self.down:
            raise StoreUnavailable("connection refused (127.0.0.1:6379)")

    async def get(self, *args: Any) -> Any:
        self._fail()
        return await super().get(*args)

    async def get_many(self, *args: Any) -> Any:
        self._fail()
        return await super().get_many(*args)

    async def stream(self, *args: Any) -> Any:
        self._fail()
        return await super().stream(*args)

    async def put(self, *args: Any) -> None:
        self._fail()
        await super().put(*args)

    async def delete(self, *args: Any) -> None:
        self._fail()
        await super().delete(*args)

    async def list_keys(self, *args: Any) -> Any:
        self._fail()
        return await super().list_keys(*args)


DETAIL = "Store unavailable: connection refused (127.0.0.1:6379)"


@pytest.mark.parametrize(
    ("op", "call"),
    [
        ("GET", lambda ns: ns.get("k")),
        ("GET", lambda ns: ns.get("k", "stream")),
        ("GET", lambda ns: ns.get_with_metadata("k")),
        ("GET_BULK", lambda ns: ns.get(["k", "j"])),
        ("GET_BULK", lambda ns: ns.get_with_metadata(["k"])),
        ("PUT", lambda ns: ns.put("k", "v")),
        ("DELETE", lambda ns: ns.delete("k")),
        ("GET", lambda ns: ns.list()),
    ],
)
async def test_store_unavailable_is_503_naming_the_operation(op: str, call: Any) -> None:
    store = FlakyStore()
    ns = KVNamespace(store, "ns", cache=EdgeCache())
    store.down = True
    with pytest.raises(KVError) as err:
        await call(ns)
    assert (err.value.status, err.value.operation) == (503, op)
    assert str(err.value) == f"KV {op} failed: 503 {DETAIL}"
    assert isinstance(err.value.__cause__, StoreUnavailable)


async def test_store_recovers_and_nothing_was_cached_while_down() -> None:
    store = FlakyStore()
    ns = KVNamespace(store, "ns", cache=EdgeCache())
    await store.put("ns", "k", b"v", None, None)
    store.down = True
    with pytest.raises(KVError):
        await ns.get("k")
    store.down = False
    assert await ns.get_with_metadata("k") == {
        "value": "v",
        "metadata": None,
        "cacheStatus": "MISS",
    }


async def test_store_failure_mid_stream_is_503_get() -> None:
    class BrokenStream(MemoryStore):
        async def stream(self, *args: Any) -> StreamEntry | None:
            async def chunks() -> AsyncIterator[bytes]:
                yield b"first"
                raise StoreUnavailable("lost connection")

            return StreamEntry(size=10, chunks=chunks())

    ns = KVNamespace(BrokenStream(), "ns")
    stream = await ns.get("k", "stream")
    assert await stream.__anext__() == b"first"
    with pytest.raises(KVError) as err:
        await stream.__anext__()
    assert str(err.value) == "KV GET failed: 503 Store unavailable: lost connection"


async def test_store_failure_on_put_leaves_cache_untouched() -> None:
    store = FlakyStore()
    ns = KVNamespace(store, "ns", cache=EdgeCache())
    await ns.put("k", "old")
    store.down = True
    with pytest.raises(KVError):
        await ns.put("k", "new")
    assert await ns.get("k") == "old"  # served from this location's cache
