from pathlib import Path

import httpx

from runtime.testing import WorkerClient

PROJECT = Path(__file__).resolve().parent.parent


def origin(request: httpx.Request) -> httpx.Response:
    """Stand-in for the origin: greet the user the edge vouched for."""
    return httpx.Response(200, text=f"hello {request.headers['X-Edgeworks-User']}")


async def test_no_token_is_stopped_at_the_edge():
    async with WorkerClient(
        config=PROJECT / "edgeworks.toml", transport=httpx.MockTransport(origin)
    ) as client:
        r = await client.get("/")
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="edgeworks"'


async def test_a_token_works_until_it_expires():
    async with WorkerClient(
        config=PROJECT / "edgeworks.toml", transport=httpx.MockTransport(origin)
    ) as client:
        await client.env.TOKENS.put("token:s3cr3t", "alice", expiration_ttl=3600)
        auth = {"Authorization": "Bearer s3cr3t"}
        r = await client.get("/", headers=auth)
        assert r.status_code == 200 and r.text == "hello alice"
        client.clock.advance(3600)
        assert (await client.get("/", headers=auth)).status_code == 401
