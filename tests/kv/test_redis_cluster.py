"""The Redis store on a real Redis Cluster (3 primaries, the session fixture): one hash
slot per namespace, sharded pub/sub invalidation, bounded connections. The contract
suite runs on the cluster too (``redis-cluster`` in ``tests/kv/conftest.py``)."""

from __future__ import annotations

import asyncio
import time

import redis

from kv import EdgeCache, KVError, KVNamespace, open_store
from kv.backends import WriteOp
from kv.backends.redis import RedisStore
from kv.invalidation import PubSubInvalidator
from kv.limits import REDIS_INLINE_MAX_BYTES
from tests.redis_support import RedisClusterNodes

NOW = 1_700_000_000.0


def _keys_by_slot(cluster: RedisClusterNodes) -> dict[int, list[bytes]]:
    found: dict[int, list[bytes]] = {}
    for server in cluster.servers:
        client = redis.Redis(port=server.port, socket_timeout=5)
        try:
            for key in client.scan_iter(count=1000):
                found.setdefault(int(client.cluster("keyslot", key)), []).append(key)
        finally:
            client.close()
    return found


async def test_cluster_keeps_every_key_of_a_namespace_in_one_slot(
    redis_cluster: RedisClusterNodes, redis_cluster_url: str
) -> None:
    async with open_store(redis_cluster_url) as store:
        for namespace in ("a", "b", "c{}:d"):
            await store.put(namespace, "small", b"v", NOW + 3600, '{"m":1}')
            await store.put(namespace, "large", b"x" * (REDIS_INLINE_MAX_BYTES + 1), None, None)
            await store.write_batch(namespace, [WriteOp(f"k{i}", b"1") for i in range(20)])
            await store.delete(namespace, "k0")
        assert await store.list_namespaces() == ["a", "b", "c{}:d"]
    slots: dict[bytes, set[int]] = {}
    for slot, keys in _keys_by_slot(redis_cluster).items():
        for key in keys:
            if key.startswith(b"ew:{"):
                slots.setdefault(key.split(b"}")[0] + b"}", set()).add(slot)
    assert sorted(slots) == [b"ew:{a}", b"ew:{b}", b"ew:{c%7B%7D%3Ad}"]
    # Entries, blobs and the index of one namespace share one slot: scripts and MULTI work.
    assert all(len(found) == 1 for found in slots.values()), slots


async def test_cluster_pubsub_invalidation_is_sharded_per_namespace(
    redis_cluster: RedisClusterNodes, redis_cluster_url: str
) -> None:
    stores = [RedisStore.from_url(redis_cluster_url) for _ in range(2)]
    caches = [EdgeCache(), EdgeCache()]
    invalidators = [
        PubSubInvalidator(store, cache, namespaces=["ns"])
        for store, cache in zip(stores, caches, strict=True)
    ]
    try:
        for invalidator in invalidators:
            await invalidator.start(wait=10)
            assert invalidator.subscribed.is_set()
        a, b = (
            KVNamespace(s, "ns", clock=lambda: NOW, cache=c)
            for s, c in zip(stores, caches, strict=True)
        )
        await a.put("k", "old")
        await _until(lambda: invalidators[1].applied >= 1)
        assert await b.get("k") == "old"
        assert (await b.get_with_metadata("k")).cache_status == "HIT"
        await a.put("k", "new")
        await _until(lambda: invalidators[1].applied >= 2)
        assert await b.get("k") == "new"  # without the clock moving: the message dropped it
        # The channel is a shard channel in the namespace's slot, not a global one.
        probe = redis.Redis(port=redis_cluster.primary_of(b"ew:{ns}:inv").port)
        try:
            assert probe.pubsub_shardchannels() == [b"ew:{ns}:inv"]
            assert probe.pubsub_channels() == []
        finally:
            probe.close()
    finally:
        for invalidator in invalidators:
            await invalidator.aclose()
        for store in stores:
            await store.aclose()


async def test_cluster_many_concurrent_calls_wait_for_a_free_connection(
    redis_cluster_url: str,
) -> None:
    # One namespace is one slot, so every call goes to one node: more calls than its
    # pool holds must queue, not fail (redis-py's cluster pool raises at once).
    async with open_store(f"{redis_cluster_url}/?max_connections=4") as store:
        ns = KVNamespace(store, "busy")
        results = await asyncio.gather(
            *(ns.put(f"k{i}", str(i)) for i in range(500)), return_exceptions=True
        )
        assert [r for r in results if r is not None] == []
        values = await asyncio.gather(*(ns.get(f"k{i}") for i in range(500)))
        assert values == [str(i) for i in range(500)]


async def _until(check: object, timeout: float = 5.0) -> None:
    """Poll ``check`` in real time (waiting for a network message, not for a TTL)."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_cluster_slot_migrating_under_traffic_gives_right_data_or_unavailable(
    redis_cluster: RedisClusterNodes, redis_cluster_url: str
) -> None:
    # Move the namespace's slot to another primary key by key (MIGRATING/IMPORTING,
    # MIGRATE, SETSLOT NODE) while puts and gets run: the client follows ASK and
    # MOVED; what it cannot finish is StoreUnavailable, never a wrong value.
    source = redis_cluster.primary_of(b"ew:{mig}:idx")
    target = next(s for s in redis_cluster.servers if s is not source and _role(s.port) == "master")
    async with open_store(redis_cluster_url) as store:
        ns = KVNamespace(store, "mig", clock=lambda: NOW)
        written = {f"k{i}": f"v{i}-0" for i in range(200)}
        for key, value in written.items():
            await ns.put(key, value)
        migrating = asyncio.create_task(asyncio.to_thread(_migrate_slot, source.port, target.port))
        unavailable = rounds = during = 0
        last_error = ""
        while not migrating.done() or rounds < 2:  # then whole rounds on the new node
            rounds = rounds + 1 if migrating.done() else 0
            for i, key in enumerate(written):
                during += 0 if migrating.done() else 1
                try:
                    if i % 2:
                        value = f"v{i}-{during}-{rounds}"
                        await ns.put(key, value)
                        written[key] = value
                    else:
                        assert await ns.get(key) == written[key]
                except KVError as exc:
                    assert exc.status == 503 and "Store unavailable" in str(exc), exc
                    unavailable += 1
                    last_error = str(exc)
                    if i % 2:  # outcome unknown: either value may be there now
                        written[key] = await _settled(ns, key, written[key], value)
        await migrating
        for key, value in written.items():
            assert await ns.get(key) == value
    assert redis_cluster.primary_of(b"ew:{mig}:idx") is target
    assert during >= 5, during  # the traffic really overlapped the move (slow: ASK, TRYAGAIN)
    print(f"{during} calls during the move, {unavailable} x 503 ({last_error})")


async def _settled(ns: KVNamespace, key: str, old: str, new: str) -> str:
    found = await ns.get(key)
    assert found in (old, new)
    return str(found)


def _role(port: int) -> str:
    client = redis.Redis(port=port, socket_timeout=5)
    try:
        return str(client.info("replication")["role"])
    finally:
        client.close()


def _migrate_slot(source_port: int, target_port: int) -> None:
    source = redis.Redis(port=source_port, socket_timeout=5)
    target = redis.Redis(port=target_port, socket_timeout=5)
    try:
        slot = int(source.cluster("keyslot", "ew:{mig}:idx"))
        source_id, target_id = source.cluster("myid"), target.cluster("myid")
        target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        while keys := source.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 5):
            source.execute_command("MIGRATE", "127.0.0.1", target_port, "", 0, 5000, "KEYS", *keys)
            time.sleep(0.03)  # let the store's calls interleave with the move
        for node in (target, source):
            node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
    finally:
        source.close()
        target.close()
