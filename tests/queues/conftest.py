"""Fixtures of the queue tests: one contract suite over every store, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from queues import QueueStore, open_queue_store
from runtime.testing import FakeClock

__all__ = ["FakeClock"]

STORES = ("memory", "sqlite", "redis")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[QueueStore]:
    """Each queue store in turn, empty."""
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/kv.sqlite3"
    else:
        url = request.getfixturevalue("redis_url")
    opened = open_queue_store(url)
    try:
        yield opened
    finally:
        await opened.aclose()
