import json
from pathlib import Path

import httpx

from runtime.testing import WorkerClient

PROJECT = Path(__file__).resolve().parent.parent


def origins(request: httpx.Request) -> httpx.Response:
    """Stand-in for both origins: say which one answered."""
    return httpx.Response(200, text=f"{request.url.port} {request.url.path}")


def split(green_percent: int) -> dict:
    config = {"active": "blue", "green_percent": green_percent}
    return {"DEPLOY": {"deploy:config": json.dumps(config)}}


async def test_everyone_goes_blue_before_the_shift():
    async with WorkerClient(
        config=PROJECT / "edgeworks.toml", kv=split(0), transport=httpx.MockTransport(origins)
    ) as client:
        r = await client.get("/hello")
        assert r.headers["X-Edgeworks-Color"] == "blue"
        assert r.text == "9001 /hello"


async def test_testers_can_force_green_and_a_full_shift_moves_everyone():
    async with WorkerClient(
        config=PROJECT / "edgeworks.toml", kv=split(0), transport=httpx.MockTransport(origins)
    ) as client:
        r = await client.get("/", headers={"X-Edgeworks-Force-Color": "green"})
        assert r.headers["X-Edgeworks-Color"] == "green" and r.text == "9002 /"
        await client.env.DEPLOY.put("deploy:config", json.dumps({"active": "green"}))
        r = await client.get("/")
        assert r.headers["X-Edgeworks-Color"] == "green"
