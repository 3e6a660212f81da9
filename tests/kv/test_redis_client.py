"""Redis store URLs and the bounded connection (kv/backends/redis_client.py), on a real
redis-server where the behaviour lives there."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
import redis.asyncio as aioredis

from kv import KVNamespace, StoreUnavailable, open_store
from kv.backends.redis_client import RedisConnection, parse_redis_url, with_max_connections
from kv.limits import REDIS_MAX_CONNECTIONS, REDIS_PUBSUB_RESERVE
from tests.support import free_port

CONCURRENT = 5000


def test_redis_url_parses_hosts_db_credentials_and_options() -> None:
    target = parse_redis_url(
        "redis://u:p%40ss@example.com:6380/3?max_connections=8&pool_timeout=1.5"
    )
    assert (target.nodes, target.db, target.username, target.password) == (
        (("example.com", 6380),),
        3,
        "u",
        "p@ss",
    )
    assert (target.max_connections, target.pool_timeout, target.cluster) == (8, 1.5, False)
    assert target.shown == "redis://u:***@example.com:6380/3?max_connections=8&pool_timeout=1.5"
    assert parse_redis_url("redis://h").nodes == (("h", 6379),)
    assert parse_redis_url("redis://h").max_connections == REDIS_MAX_CONNECTIONS
    cluster = parse_redis_url("rediss+cluster://a:7000,[::1]:7001/?ssl_cert_reqs=none")
    assert (cluster.cluster, cluster.tls, cluster.nodes) == (
        True,
        True,
        (("a", 7000), ("::1", 7001)),
    )
    assert dict(cluster.tls_options) == {"ssl_cert_reqs": "none"}


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://h:6379/abc", "database 'abc' is not a number: use /0, /1, ... (default /0)"),
        ("redis://h:6379/-1", "database '-1' is not a number"),
        ("redis://h:99999/0", "port '99999' is not a number from 1 to 65535"),
        ("redis://h:port/0", "port 'port' is not a number from 1 to 65535"),
        ("redis://h:0/0", "port 0 is not a number from 1 to 65535"),
        ("redis://:6379/0", "host ':6379' is not a host[:port]"),
        ("redis://h:6379/0?foo=bar", "unknown option 'foo': allowed are max_connections,"),
        ("redis://h/0?ssl_cert_reqs=none", "unknown option 'ssl_cert_reqs' (TLS options need"),
        ("redis://h/0?max_connections=0", "option max_connections='0' is invalid: must be an"),
        ("redis://h/0?socket_timeout=-1", "option socket_timeout='-1' is invalid: must be seconds"),
        ("redis://a:1,b:2/0", "2 hosts given: one Redis takes one host; for a Redis Cluster use"),
        ("redis+cluster://a:1,b:2/2", "a Redis Cluster has only database 0; drop the /2"),
        ("redis+cluster://a:1,,b:2", "host '' is not a host[:port]"),
        ("redis://h/0#x", "'#x' is not allowed"),
        ("rediz://h/0", "the scheme must be one of redis://, rediss://, redis+cluster://"),
    ],
)
def test_redis_url_errors_name_the_value_and_what_is_allowed(url: str, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_redis_url(url)
    message = str(info.value)
    assert message.startswith(f"Invalid Redis store URL {url!r}: "), message
    assert problem in message
    assert "\n" not in message


def test_redis_url_error_masks_the_password() -> None:
    with pytest.raises(ValueError, match=r"redis://u:\*\*\*@h:1/x") as info:
        parse_redis_url("redis://u:secret@h:1/x")
    assert "secret" not in str(info.value)


def test_redis_max_connections_setting_joins_the_url_once() -> None:
    assert with_max_connections("redis://h/0", 8) == "redis://h/0?max_connections=8"
    assert with_max_connections("redis://h/0?pool_timeout=1", 8).endswith(
        "?pool_timeout=1&max_connections=8"
    )
    assert with_max_connections("redis://h/0?max_connections=8", 8) == (
        "redis://h/0?max_connections=8"
    )
    with pytest.raises(ValueError, match="max_connections is given twice: 4 in the store URL"):
        with_max_connections("redis://h/0?max_connections=4", 8)


async def test_redis_five_thousand_concurrent_puts_then_gets_through_one_namespace(
    redis_url: str,
) -> None:
    # Every call at once: they queue for the store's bounded connections instead of
    # each opening its own (redis-py's own pool fails with "Too many connections").
    async with open_store(redis_url) as store:
        ns = KVNamespace(store, "load")
        puts = await asyncio.gather(
            *(ns.put(f"k{i}", f"v{i}") for i in range(CONCURRENT)), return_exceptions=True
        )
        assert [p for p in puts if p is not None] == []
        gets = await asyncio.gather(
            *(ns.get(f"k{i}") for i in range(CONCURRENT)), return_exceptions=True
        )
        assert gets == [f"v{i}" for i in range(CONCURRENT)]
        raw = aioredis.Redis.from_url(redis_url)
        clients = await raw.client_list()
        await raw.aclose()
    # Only the store's own connections (plus this one) ever existed.
    assert len(clients) <= REDIS_MAX_CONNECTIONS + REDIS_PUBSUB_RESERVE + 1


async def test_redis_waiting_for_a_free_connection_gives_up_after_pool_timeout(
    redis_url: str,
) -> None:
    connection = RedisConnection(f"{redis_url}?max_connections=1&pool_timeout=0.2")
    blocker = aioredis.Redis.from_url(redis_url)
    try:
        async with connection.command() as client:
            await client.ping()
        sleeping = asyncio.create_task(blocker.execute_command("DEBUG", "SLEEP", "0.6"))
        await asyncio.sleep(0.05)
        first = asyncio.create_task(_ping(connection))  # holds the one connection
        await asyncio.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            await _ping(connection)
        elapsed = time.monotonic() - started
        message = str(info.value)
        match = re.search(r"all 1 connections stayed busy for (\d+\.\d+) s", message)
        assert match and 0.2 <= float(match[1]) <= elapsed + 0.01, message
        assert "raise [kv] max_connections" in message
        await first  # the first call still gets its answer
        await sleeping
        await _ping(connection)  # and the connection is free again
    finally:
        await blocker.aclose()
        await connection.aclose()


async def _ping(connection: RedisConnection) -> None:
    async with connection.command() as client:
        await client.ping()


async def test_redis_cluster_without_a_reachable_seed_is_store_unavailable() -> None:
    port = free_port()  # nothing listens there
    store = open_store(f"redis+cluster://127.0.0.1:{port},127.0.0.1:{port}")
    try:
        with pytest.raises(StoreUnavailable, match=rf"^redis\+cluster://127.0.0.1:{port},.*: "):
            await store.check()
        with pytest.raises(StoreUnavailable, match="cannot be connected"):
            await store.get("ns", "k", 0.0)
    finally:
        await store.aclose()
