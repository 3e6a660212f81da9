from pathlib import Path

from runtime.testing import WorkerClient

PROJECT = Path(__file__).resolve().parent.parent


async def test_hello_world():
    async with WorkerClient(config=PROJECT / "wrangler.jsonc") as client:
        r = await client.get("/")
        assert r.status_code == 200
        assert r.text == "Hello world!"
        assert r.headers["content-type"] == "text/plain;charset=UTF-8"
