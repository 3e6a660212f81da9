"""KVNamespace behaviour that does not depend on the store: defensive expiry checks
over a store that returns expired entries, and small conveniences."""

from __future__ import annotations

from typing import Any

from kv import KVNamespace
from kv.backends import Entry, KeyInfo
from kv.backends.memory import MemoryStore
from runtime.testing import FakeClock


class LeakyStore(MemoryStore):
    """A store that ignores ``now``: it returns entries whatever their expiration."""

    async def get(self, namespace: str, key: str, now: float) -> Entry | None:
        return await super().get(namespace, key, 0.0)

    async def get_many(self, namespace: str, keys: Any, now: float) -> list[Entry | None]:
        return await super().get_many(namespace, keys, 0.0)

    async def list_keys(
        self, namespace: str, prefix: str, start_after: str | None, limit: int, now: float
    ) -> list[KeyInfo]:
        return await super().list_keys(namespace, prefix, start_after, limit, 0.0)


async def test_namespace_hides_expired_entries_a_store_returns() -> None:
    clock = FakeClock()
    ns = KVNamespace(LeakyStore(), "ns", clock=clock)
    await ns.put("a", "v", expiration_ttl=60)
    await ns.put("b", "v", expiration_ttl=60)
    await ns.put("c", "v")
    clock.advance(60)
    assert await ns.get("a") is None
    assert await ns.get(["a", "c"]) == {"a": None, "c": "v"}
    page = await ns.list(limit=2)
    # The page held two expired keys: it is empty, but the walk is not over.
    assert page.keys == [] and not page.list_complete
    rest = await ns.list(limit=2, cursor=page.cursor)
    assert [k.name for k in rest.keys] == ["c"] and rest.list_complete


async def test_namespace_repr_names_id_and_store() -> None:
    assert repr(KVNamespace(MemoryStore(), "site")) == "<KVNamespace 'site' on memory://>"
