"""Root fixtures: one redis-server per test session, a flushed database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_support import RedisServer

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
