from pathlib import Path

from runtime.testing import WorkerClient

PROJECT = Path(__file__).resolve().parent.parent


async def test_counter_starts_at_one():
    async with WorkerClient(config=PROJECT / "edgeworks.toml") as client:
        assert (await client.get("/")).text == "hit 1\n"
        assert (await client.get("/")).text == "hit 2\n"


async def test_counter_continues_from_stored_value():
    async with WorkerClient(
        config=PROJECT / "edgeworks.toml", kv={"COUNTER": {"hits": "41"}}
    ) as client:
        r = await client.get("/")
        assert r.status_code == 200 and r.text == "hit 42\n"
        assert await client.env.COUNTER.get("hits") == "42"
