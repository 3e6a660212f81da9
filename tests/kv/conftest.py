"""KV fixtures: ``store`` runs each contract test against every store kind, ``clock``
is a fake clock (tests never sleep for a TTL), ``ns`` a namespace over both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kv import KVNamespace, open_store
from kv.backends import Store
from runtime.testing import FakeClock

# Every store kind the contract suite runs against.
STORE_KINDS = ["memory", "sqlite", "redis"]

START = 1_700_000_000.0  # the fake clock's first reading: epoch seconds, a whole number


def store_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/kv.sqlite3"
    if kind == "redis":
        url: str = request.getfixturevalue("redis_url")
        return url
    raise AssertionError(f"unknown store kind {kind}")


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An empty store of each kind, closed after the test."""
    opened = open_store(store_url(request.param, tmp_path, request))
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def ns(store: Store, clock: FakeClock) -> KVNamespace:
    """A namespace without an edge cache (reads are strongly consistent)."""
    return KVNamespace(store, "test-ns", clock=clock)
