from pathlib import Path

from runtime.testing import WorkerClient

PROJECT = Path(__file__).resolve().parent.parent


async def test_page_and_api_work_without_an_origin():
    async with WorkerClient(config=PROJECT / "edgeworks.toml") as client:
        page = await client.get("/")
        assert page.status_code == 200 and "Guestbook" in page.text
        r = await client.post("/api/entries", json={"name": "Ada", "message": "hi"})
        assert r.status_code == 201
        entries = (await client.get("/api/entries")).json()["entries"]
        assert [(e["name"], e["message"]) for e in entries] == [("Ada", "hi")]


async def test_bad_input_is_a_clear_4xx():
    async with WorkerClient(config=PROJECT / "edgeworks.toml") as client:
        r = await client.post("/api/entries", json={"name": "Ada"})
        assert r.status_code == 422
        assert r.json() == {"error": '"message" must be a string of 1 to 500 characters'}
