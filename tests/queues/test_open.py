"""open_queue_store takes KV's store URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from queues import open_queue_store
from queues.backends.memory import MemoryQueueStore
from queues.backends.redis import RedisQueueStore
from queues.backends.sqlite import SQLiteQueueStore


def test_open_queue_store_by_scheme_and_bare_path(tmp_path: Path) -> None:
    assert isinstance(open_queue_store("memory://"), MemoryQueueStore)
    assert open_queue_store("memory://") is not open_queue_store("memory://")
    assert isinstance(open_queue_store("redis://127.0.0.1:1/0"), RedisQueueStore)
    store = open_queue_store(tmp_path / "kv.sqlite3")
    assert isinstance(store, SQLiteQueueStore) and store.path == tmp_path / "kv.sqlite3"


def test_open_queue_store_unknown_scheme() -> None:
    with pytest.raises(ValueError) as err:
        open_queue_store("ftp://host/x")
    assert str(err.value) == (
        "Unknown queue store URL 'ftp://host/x': allowed schemes are memory://, redis://, sqlite://"
    )


async def test_sqlite_queue_tables_live_in_the_kv_file(tmp_path: Path) -> None:
    from kv import KVNamespace, open_store
    from queues import Queue

    url = f"sqlite:///{tmp_path}/kv.sqlite3"
    kv, queues = open_store(url), open_queue_store(url)
    await KVNamespace(kv, "ns").put("k", "v")
    await Queue(queues, "jobs").send(1)
    assert await KVNamespace(kv, "ns").get("k") == "v"
    assert (await queues.counts("jobs", 0)).backlog == 1
    await kv.check()  # still a KV store file by its own quick check
    await kv.aclose()
    await queues.aclose()
