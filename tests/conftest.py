"""Root fixtures: one redis-server and one 3-primary Redis Cluster per test session (the
cluster only when a test asks for it), a flushed database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_support import RedisClusterNodes, RedisServer

# The browser fixtures (`browser`, `page`) for tests that drive Chromium.
pytest_plugins = ["tests.browser_support"]

# The browser fixtures (`browser`, `page`) for tests that drive Chromium.
pytest_plugins = ["tests.browser_support"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server (no persistence) shared by the session, stopped by its PID."""
    server = RedisServer(Path(tmp_path_factory.mktemp("redis"))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of an empty Redis database (flushed before each test)."""
    import redis

    client = redis.Redis(port=redis_server.port, socket_timeout=5)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """A 3-primary Redis Cluster shared by the session, each node stopped by its PID."""
    cluster = RedisClusterNodes(Path(tmp_path_factory.mktemp("cluster"))).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisClusterNodes) -> str:
    """The ``redis+cluster://`` URL of an empty cluster (every primary flushed first)."""
    redis_cluster.flush()
    return redis_cluster.url
