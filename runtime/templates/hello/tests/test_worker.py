from pathlib import Path

from runtime.testing import WorkerClient

PROJECT = Path(__file__).resolve().parent.parent


async def test_hello_greets():
    async with WorkerClient(config=PROJECT / "edgeworks.toml") as client:
        r = await client.get("/")
        assert r.status_code == 200
        assert r.text == "Hello, world!\n"


async def test_hello_greeting_comes_from_vars():
    async with WorkerClient(config=PROJECT / "edgeworks.toml", vars={"GREETING": "Hi"}) as client:
        r = await client.get("/anything")
        assert r.text == "Hi, world!\n"
