"""The originless example (examples/guestbook): pages from [site], a JSON API on KV,
no origin configured — every outbound fetch would fail loudly, and none happens."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from runtime.testing import WorkerClient
from tests.support import REPO_ROOT

PROJECT = REPO_ROOT / "examples" / "guestbook" / "edgeworks.toml"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def client() -> AsyncIterator[WorkerClient]:
    # No transport: an outbound fetch would raise, so passing tests prove there is no origin.
    async with WorkerClient(config=PROJECT) as client:
        assert client.config is not None and client.config.origin is None
        yield client


async def sign(client: WorkerClient, name: str, message: str) -> httpx.Response:
    return await client.post("/api/entries", json={"name": name, "message": message})


async def test_guestbook_serves_its_pages_from_the_site_bucket(client: WorkerClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Guestbook</h1>" in page.text
    script = await client.get("/app.js")
    assert script.status_code == 200 and "textContent" in script.text
    assert "javascript" in script.headers["content-type"]
    style = await client.get("/style.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    missing = await client.get("/no-such-page")
    assert missing.status_code == 404 and "Not found" in missing.text


async def test_guestbook_post_then_list_newest_first(client: WorkerClient) -> None:
    created = []
    for i in range(3):
        r = await sign(client, f"guest {i}", f"hello number {i}")
        assert r.status_code == 201
        entry = r.json()
        assert r.headers["location"] == f"/api/entries/{entry['id']}"
        assert (entry["name"], entry["message"]) == (f"guest {i}", f"hello number {i}")
        created.append(entry)
    listed = (await client.get("/api/entries")).json()
    assert listed["entries"] == created[::-1]
    assert listed["cursor"] is None
    one = await client.get(f"/api/entries/{created[1]['id']}")
    assert one.status_code == 200 and one.json() == created[1]


async def test_guestbook_pages_through_entries_with_a_cursor(client: WorkerClient) -> None:
    for i in range(5):
        assert (await sign(client, "pager", f"message {i}")).status_code == 201
    first = (await client.get("/api/entries?limit=2")).json()
    assert [e["message"] for e in first["entries"]] == ["message 4", "message 3"]
    assert first["cursor"]
    rest: list[str] = []
    cursor = first["cursor"]
    while cursor:
        page = (await client.get("/api/entries", params={"limit": 2, "cursor": cursor})).json()
        rest += [e["message"] for e in page["entries"]]
        cursor = page["cursor"]
    assert rest == ["message 2", "message 1", "message 0"]


async def test_guestbook_stores_entries_in_kv_under_entry_keys(client: WorkerClient) -> None:
    entry = (await sign(client, "Ada", "stored")).json()
    stored = await client.env.GUESTBOOK.get(f"entry:{entry['id']}", type="json")
    assert stored == entry


async def test_guestbook_strips_whitespace_and_keeps_markup_as_text(
    client: WorkerClient,
) -> None:
    r = await sign(client, "  <b>Eve</b>  ", "<script>alert(1)</script>\nline two")
    assert r.status_code == 201
    assert r.json()["name"] == "<b>Eve</b>"
    assert r.json()["message"] == "<script>alert(1)</script>\nline two"
    assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        (b'{"name": "a", "message": "b"}', {"Content-Type": "text/plain"}, 415, "application/json"),
        (b'{"name": "a", "message": "b"}', {}, 415, "application/json"),
        (b"{not json", JSON, 400, "not valid JSON"),
        (b"\xff\xfe", JSON, 400, "not valid JSON"),
        (b"[" * 100000 + b"]" * 100000, JSON, 413, "at most 4096 bytes"),
        (b"[1, 2]", JSON, 422, "JSON object"),
        (b'{"name": "a"}', JSON, 422, '"message" must be a string'),
        (b'{"name": 5, "message": "b"}', JSON, 422, '"name" must be a string'),
        (b'{"name": "   ", "message": "b"}', JSON, 422, "1 to 40 characters, got 0"),
        (b'{"name": "' + b"n" * 41 + b'", "message": "b"}', JSON, 422, "got 41"),
        (b'{"name": "a", "message": "' + b"m" * 501 + b'"}', JSON, 422, "got 501"),
        (b'{"name": "a\\u0000", "message": "b"}', JSON, 422, "control characters"),
        (b'{"name": "a\\nb", "message": "b"}', JSON, 422, "control characters"),
        (b'{"name": "a", "message": "b", "admin": true}', JSON, 422, "unknown fields"),
    ],
)
async def test_guestbook_rejects_bad_posts_with_clear_4xx(
    client: WorkerClient, body: bytes, headers: dict[str, str], status: int, says: str
) -> None:
    r = await client.post("/api/entries", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert says in r.json()["error"]
    assert (await client.get("/api/entries")).json()["entries"] == []  # nothing stored


async def test_guestbook_counts_a_chunked_body_as_it_arrives(client: WorkerClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    r = await client.post("/api/entries", content=chunks(), headers=JSON)
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("limit=0", "limit"),
        ("limit=51", "limit"),
        ("limit=abc", "limit"),
        ("cursor=bogus", "cursor"),
    ],
)
async def test_guestbook_rejects_bad_list_parameters(
    client: WorkerClient, query: str, says: str
) -> None:
    r = await client.get(f"/api/entries?{query}")
    assert r.status_code == 400 and says in r.json()["error"]


async def test_guestbook_api_methods_and_unknown_routes(client: WorkerClient) -> None:
    r = await client.delete("/api/entries")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST"
    r = await client.put("/api/entries/0000000000000000001-deadbeef", content=b"{}")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    r = await client.get("/api/entries/../../etc/passwd")
    assert r.status_code == 404
    r = await client.get("/api/entries/0000000000000000001-deadbeef")
    assert r.status_code == 404 and "no entry" in r.json()["error"]
    r = await client.get("/api/nothing")
    assert r.status_code == 404 and "GET /api/entries" in r.json()["error"]


async def test_guestbook_accepts_unicode_text(client: WorkerClient) -> None:
    r = await client.post(
        "/api/entries",
        content=json.dumps({"name": "Zoë", "message": "héllo 👋"}).encode(),
        headers=JSON,
    )
    assert r.status_code == 201 and r.json()["message"] == "héllo 👋"
