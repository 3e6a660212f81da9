"""Queue endpoints: list with counts, send, purge, retry dead-lettered; the envelope."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kv import open_store
from queues import NewMessage, open_queue_store
from runtime.admin import AdminApp, AdminState
from runtime.config import load_config
from tests.runtime.admin.admin_support import asgi_client

Q = "/__edgeworks/api/queues"
CONFIG = """
name = "q"
main = "worker.py"
[[queues.producers]]
binding = "JOBS"
queue = "jobs"
[[queues.consumers]]
queue = "jobs"
dead_letter_queue = "jobs-dlq"
"""


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    (tmp_path / "edgeworks.toml").write_text(CONFIG)
    config = load_config(None, cwd=tmp_path)
    store, queue_store = open_store("memory://"), open_queue_store("memory://")
    woken: list[str] = []
    state = AdminState(store, queue_store=queue_store, config=config, after_send=woken.append)
    async with asgi_client(AdminApp(state)) as client:
        client.woken = woken  # type: ignore[attr-defined]
        client.queue_store = queue_store  # type: ignore[attr-defined]
        yield client
    await queue_store.aclose()
    await store.aclose()


def row(rows: list[dict[str, object]], name: str) -> dict[str, object]:
    return next(r for r in rows if r["name"] == name)


async def test_queues_send_then_counts(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{Q}/jobs/messages", json={"body": {"n": 1}})
    assert r.json() == {
        "success": True,
        "errors": [],
        "messages": [],
        "result": {"queue": "jobs", "sent": 1},
    }
    await client.post(
        f"{Q}/jobs/messages", json={"body": "later", "content_type": "text", "delay_seconds": 60}
    )
    rows = (await client.get(Q)).json()["result"]
    assert [r["name"] for r in rows] == ["jobs", "jobs-dlq"]
    jobs = row(rows, "jobs")
    assert (jobs["ready"], jobs["delayed"], jobs["in_flight"], jobs["dead_lettered"]) == (
        1,
        1,
        0,
        0,
    )
    assert isinstance(jobs["oldest_timestamp"], float)
    assert client.woken == ["jobs", "jobs"]  # type: ignore[attr-defined]


async def test_queues_purge_and_retry_dead(client: httpx.AsyncClient) -> None:
    await client.post(f"{Q}/jobs/messages", json={"body": 1})
    r = await client.post(f"{Q}/jobs/purge")
    assert r.json()["result"] == {"queue": "jobs", "purged": 1}
    now = time.time()
    dead = [NewMessage(f"m{i}", b"1", "json", now, now) for i in range(3)]
    await client.queue_store.send("jobs-dlq", dead)  # type: ignore[attr-defined]
    assert row((await client.get(Q)).json()["result"], "jobs")["dead_lettered"] == 3
    r = await client.post(f"{Q}/jobs-dlq/retry-dead")
    assert r.json()["result"] == {"from": "jobs-dlq", "to": "jobs", "moved": 3}
    jobs = row((await client.get(Q)).json()["result"], "jobs")
    assert (jobs["ready"], jobs["dead_lettered"]) == (3, 0)


async def test_queues_bad_requests_are_4xx_envelopes(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{Q}/nope/messages", json={"body": 1})
    assert (r.status_code, r.json()["errors"][0]["code"]) == (404, 11000)
    assert "known queues: jobs, jobs-dlq" in r.json()["errors"][0]["message"]
    for body, message in [
        ({"nobody": 1}, "request body must be an object"),
        ({"body": None}, ""),
        ({"body": 1, "content_type": "xml"}, ""),
        ({"body": 1, "delay_seconds": -5}, ""),
        ({"body": "x" * 200_000, "content_type": "text"}, "exceeds limit"),
    ]:
        r = await client.post(f"{Q}/jobs/messages", json=body)
        assert r.status_code == 400, (body, r.text)
        assert message in r.json()["errors"][0]["message"]
    r = await client.post(f"{Q}/jobs/messages", content=b"{")
    assert r.status_code == 400
    assert row((await client.get(Q)).json()["result"], "jobs")["ready"] == 0


async def test_queues_without_a_queue_store_list_nothing() -> None:
    store = open_store("memory://")
    async with asgi_client(AdminApp(AdminState(store))) as client:
        assert (await client.get(Q)).json()["result"] == []
        assert (await client.post(f"{Q}/jobs/purge")).status_code == 404
    await store.aclose()
