"""Blue-green router: config parsing, deterministic buckets, routing through WorkerClient,
and one test with two real origins behind a real ``edgeworks serve``."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kv import EdgeCache, KVError, KVNamespace
from runtime import Env
from runtime.testing import WorkerClient
from tests.support import REPO_ROOT
from tests.workers._serve import Origin, seed, start_serve, write_project
from workers.blue_green import BUCKETS, Split, bucket_of, parse_split


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"active": "blue", "green_percent": 20, "sticky": True}, Split("blue", 20, True)),
        ({"active": "green", "blue_percent": 5}, Split("green", 5, True)),
        ({"active": "green"}, Split("green", 0, True)),
        ({"green_percent": 100}, Split("blue", 100, True)),
        ({"active": "blue", "green_percent": 0, "sticky": False}, Split("blue", 0, False)),
    ],
)
def test_parse_split_accepts_valid_configs(raw: object, expected: Split) -> None:
    assert parse_split(raw, "blue") == (expected, None)


@pytest.mark.parametrize(
    ("raw", "default", "active", "problem"),
    [
        (None, "blue", "blue", "no deploy config"),
        (None, "green", "green", "no deploy config"),
        ([1, 2], "blue", "blue", "JSON object"),
        ("green", "blue", "blue", "JSON object"),
        ({"active": "purple"}, "blue", "blue", '"active" must be'),
        ({"active": "green", "green_percent": 10}, "blue", "green", "for the active colour"),
        ({"active": "blue", "green_percent": 101}, "blue", "blue", "integer 0..100"),
        ({"active": "blue", "green_percent": -1}, "blue", "blue", "integer 0..100"),
        ({"active": "blue", "green_percent": "20"}, "blue", "blue", "integer 0..100"),
        ({"active": "blue", "green_percent": 20.5}, "blue", "blue", "integer 0..100"),
        ({"active": "blue", "green_percent": True}, "blue", "blue", "integer 0..100"),
        ({"active": "blue", "green_percent": 20, "sticky": "yes"}, "blue", "blue", '"sticky"'),
        ({"active": "blue", "green_pct": 20}, "blue", "blue", "unknown keys"),
    ],
)
def test_parse_split_sends_everything_to_the_active_colour_when_broken(
    raw: object, default: str, active: str, problem: str
) -> None:
    split, message = parse_split(raw, default)
    assert split == Split(active, 0, True)
    assert message is not None and problem in message


def test_bucket_of_is_a_stable_sha256_bucket() -> None:
    # The same id must land in the same bucket in every process, location and release.
    digest = hashlib.sha256(b"user-42").digest()
    assert bucket_of("user-42") == int.from_bytes(digest[:8], "big") % BUCKETS
    assert all(0 <= bucket_of(f"u{i}") < BUCKETS for i in range(1000))


def test_split_raising_the_percent_never_moves_a_user_back() -> None:
    ids = [f"user-{i}" for i in range(2000)]
    green_at = {
        p: {u for u in ids if Split("blue", p).color_for(bucket_of(u)) == "green"}
        for p in (0, 10, 50, 100)
    }
    assert green_at[0] == set()
    assert green_at[10] <= green_at[50] <= green_at[100] == set(ids)


# --- the worker through WorkerClient (mock origins) ----------------------------------

WORKER = REPO_ROOT / "workers" / "blue_green.py"
ORIGINS = {"BLUE_ORIGIN": "http://blue.test", "GREEN_ORIGIN": "http://green.test"}
COLOR_HEADER = "x-edgeworks-color"
# An explicit Cookie header keeps the client's cookie jar out: the request is a new user.
NEW_USER = {"Cookie": "first-visit=1"}
USERS = 2000


def echo_origin(seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    """Both origins: answer with the origin's host, the method, path and body."""

    async def handler(request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if seen is not None:
            seen.append(request)
        return httpx.Response(
            200,
            content=request.url.host.encode() + b" " + request.method.encode() + b" " + body,
            headers={"Set-Cookie": "origin=1; Path=/", "X-Origin": request.url.host},
        )

    return httpx.MockTransport(handler)


def client_for(config: object, **kwargs: Any) -> WorkerClient:
    kv = {"DEPLOY": {"deploy:config": config}} if config is not None else {"DEPLOY": {}}
    options: dict[str, Any] = {"vars": ORIGINS, "transport": echo_origin(), "kv": kv}
    options.update(kwargs)
    return WorkerClient(WORKER, **options)


def location_with_edge_cache(client: WorkerClient) -> KVNamespace:
    """Give the client's location an edge cache for DEPLOY, as in ``edgeworks serve``.

    Returns an uncached namespace over the same store: writes through it are
    another location's (``edgeworks kv key put``), which this location sees only
    once its cached copy is older than the cache TTL.
    """
    plain = client.env.DEPLOY
    cached = KVNamespace(plain.store, plain.id, clock=client.clock, cache=EdgeCache())
    worker = client.host.current.worker
    assert worker is not None
    client.host.swap(worker, Env({**client.env.as_dict(), "DEPLOY": cached}))
    return plain


def lean_origin() -> httpx.MockTransport:
    """Both origins, answering with their host only (keeps 2,000 requests quick)."""
    return httpx.MockTransport(lambda request: httpx.Response(200, text=request.url.host))


async def colors_of_new_users(client: WorkerClient, n: int) -> dict[str, str]:
    """Send ``n`` first visits; map each assigned user id to the colour it got."""
    assigned = {}
    for _ in range(n):
        r = await client.get("/", headers=NEW_USER)
        assert r.status_code == 200
        match = re.search(r"(?:^|, )edgeworks_uid=([^;]+);", r.headers["set-cookie"])
        assert match is not None
        assigned[match[1]] = r.headers[COLOR_HEADER]
    return assigned


async def color_of(client: WorkerClient, user_id: str, path: str = "/") -> str:
    r = await client.get(path, headers={"Cookie": f"edgeworks_uid={user_id}"})
    assert r.status_code == 200
    assert r.text.startswith(f"{r.headers[COLOR_HEADER]}.test ")  # it really went there
    return r.headers[COLOR_HEADER]


async def test_blue_green_sends_about_green_percent_of_distinct_users_to_green() -> None:
    config = {"active": "blue", "green_percent": 20, "sticky": True}
    async with client_for(config, transport=lean_origin()) as client:
        assigned = await colors_of_new_users(client, USERS)
    assert len(assigned) == USERS  # every first visit got its own id
    green = sum(color == "green" for color in assigned.values())
    # Binomial(2000, 0.2): mean 400, sd 17.9; 5 sd either side.
    assert 310 <= green <= 490, green


async def test_blue_green_user_stays_on_one_colour_across_requests() -> None:
    async with client_for({"active": "blue", "green_percent": 50}) as client:
        assigned = await colors_of_new_users(client, 100)
        assert set(assigned.values()) == {"blue", "green"}
        for user_id, color in assigned.items():
            for path in ("/", "/a", "/b?c=d"):
                assert await color_of(client, user_id, path) == color


async def test_blue_green_cookie_jar_keeps_a_browser_on_its_colour() -> None:
    async with client_for({"active": "blue", "green_percent": 50}) as client:
        first = await client.get("/")
        assert "edgeworks_uid=" in first.headers["set-cookie"]
        for _ in range(5):
            again = await client.get("/")
            assert again.headers[COLOR_HEADER] == first.headers[COLOR_HEADER]
            assert "edgeworks_uid" not in again.headers.get("set-cookie", "")


async def test_blue_green_kv_update_moves_traffic_after_the_cache_ttl() -> None:
    async with client_for(
        {"active": "blue", "green_percent": 0}, vars={**ORIGINS, "CONFIG_CACHE_TTL": "60"}
    ) as client:
        other_location = location_with_edge_cache(client)
        users = [f"user-{i:04d}-padding-id" for i in range(200)]
        assert {await color_of(client, u) for u in users} == {"blue"}
        shift = json.dumps({"active": "blue", "green_percent": 50})
        await other_location.put("deploy:config", shift)
        client.clock.advance(59)
        assert {await color_of(client, u) for u in users} == {"blue"}  # cached copy still fresh
        client.clock.advance(1)
        after = {u: await color_of(client, u) for u in users}
        green = [u for u, color in after.items() if color == "green"]
        assert green == [u for u in users if bucket_of(u) < 50]
        assert 50 <= len(green) <= 150


async def test_blue_green_rollback_to_zero_sends_everyone_blue() -> None:
    async with client_for({"active": "blue", "green_percent": 100}) as client:
        users = [f"user-{i:04d}-padding-id" for i in range(100)]
        assert {await color_of(client, u) for u in users} == {"green"}
        await client.env.DEPLOY.put("deploy:config", '{"active": "blue", "green_percent": 0}')
        assert {await color_of(client, u) for u in users} == {"blue"}
        r = await client.get("/", headers=NEW_USER)
        assert r.headers[COLOR_HEADER] == "blue"
        assert "set-cookie" not in r.headers or "edgeworks_uid" not in r.headers["set-cookie"]


async def test_blue_green_full_switch_makes_green_active() -> None:
    async with client_for({"active": "green"}) as client:
        assert {await color_of(client, f"user-{i:04d}-padding-id") for i in range(50)} == {"green"}


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "not json at all",
        '["blue"]',
        '{"active": "purple", "green_percent": 50}',
        '{"active": "blue", "green_percent": 250}',
        '{"active": "blue", "green_percent": "50"}',
        '{"active": "blue", "green_percent": 50, "stikcy": true}',
    ],
)
async def test_blue_green_broken_or_missing_config_sends_all_to_active_and_warns(
    raw: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="edgeworks.workers.blue_green")
    async with client_for(raw) as client:
        colors = {await color_of(client, f"user-{i:04d}-padding-id") for i in range(100)}
        new_user = await client.get("/", headers=NEW_USER)
    assert colors == {"blue"}
    assert new_user.status_code == 200 and new_user.headers[COLOR_HEADER] == "blue"
    warnings = [r for r in caplog.records if r.name == "edgeworks.workers.blue_green"]
    assert len(warnings) == 1  # logged, but not once per request
    assert "blue_green:" in warnings[0].getMessage()


async def test_blue_green_broken_config_keeps_a_valid_active_colour() -> None:
    async with client_for('{"active": "green", "blue_percent": 400}') as client:
        assert await color_of(client, "user-0000-padding-id") == "green"


async def test_blue_green_store_outage_sends_all_to_default_colour() -> None:
    class BrokenNamespace:
        async def get(self, *args: Any, **kwargs: Any) -> Any:
            raise KVError("GET", 503, "Store unavailable: connection refused")

    async with client_for({"active": "blue", "green_percent": 100}) as client:
        worker = client.host.current.worker
        assert worker is not None
        client.host.swap(worker, Env({**client.env.as_dict(), "DEPLOY": BrokenNamespace()}))
        assert await color_of(client, "user-0000-padding-id") == "blue"


async def test_blue_green_forwards_method_headers_and_body() -> None:
    seen: list[httpx.Request] = []
    async with client_for(
        {"active": "blue", "green_percent": 0}, transport=echo_origin(seen)
    ) as client:
        payload = bytes(range(256)) * 40
        r = await client.post(
            "/api/items?x=1&y=%2F",
            content=payload,
            headers={"Content-Type": "application/octet-stream", "X-Custom": "yes"},
        )
        assert r.status_code == 200
        assert r.content == b"blue.test POST " + payload
        for method in ("PUT", "PATCH", "DELETE"):
            r = await client.request(method, "/thing", content=b"abc")
            assert r.content == b"blue.test " + method.encode() + b" abc"
    upstream = seen[0]
    assert str(upstream.url) == "http://blue.test/api/items?x=1&y=%2F"
    assert upstream.headers["x-custom"] == "yes"
    assert upstream.headers["content-type"] == "application/octet-stream"
    assert upstream.headers["x-forwarded-host"] == "worker.test"
    assert upstream.headers["host"] == "blue.test"


async def test_blue_green_keeps_origin_cookies_beside_its_own() -> None:
    async with client_for({"active": "blue", "green_percent": 50}) as client:
        r = await client.get("/", headers=NEW_USER)
    cookies = r.headers.get_list("set-cookie")
    assert any(c.startswith("origin=1") for c in cookies)
    assert any(c.startswith("edgeworks_uid=") and "HttpOnly" in c for c in cookies)
    assert r.headers["x-origin"] == f"{r.headers[COLOR_HEADER]}.test"


async def test_blue_green_forced_colour_by_header_or_cookie() -> None:
    async with client_for({"active": "blue", "green_percent": 0}) as client:
        r = await client.get("/", headers={"X-Edgeworks-Force-Color": "green"})
        assert r.headers[COLOR_HEADER] == "green" and r.text.startswith("green.test")
        r = await client.get("/", headers={"Cookie": "edgeworks_force_color=GREEN"})
        assert r.headers[COLOR_HEADER] == "green"
        r = await client.get("/", headers={"X-Edgeworks-Force-Color": "purple"})
        assert r.headers[COLOR_HEADER] == "blue"


async def test_blue_green_forcing_can_be_turned_off() -> None:
    options = {**ORIGINS, "FORCE_HEADER": "", "FORCE_COOKIE": ""}
    async with client_for({"active": "blue"}, vars=options) as client:
        r = await client.get(
            "/",
            headers={"X-Edgeworks-Force-Color": "green", "Cookie": "edgeworks_force_color=green"},
        )
        assert r.headers[COLOR_HEADER] == "blue"


async def test_blue_green_non_sticky_split_sets_no_cookie() -> None:
    async with client_for({"active": "blue", "green_percent": 50, "sticky": False}) as client:
        colors = []
        for _ in range(200):
            r = await client.get("/", headers=NEW_USER)
            assert "edgeworks_uid" not in r.headers.get("set-cookie", "")
            colors.append(r.headers[COLOR_HEADER])
    assert 50 <= colors.count("green") <= 150  # Binomial(200, 0.5): sd 7.1


async def test_blue_green_malformed_user_cookie_gets_a_new_id() -> None:
    async with client_for({"active": "blue", "green_percent": 50}) as client:
        r = await client.get("/", headers={"Cookie": "edgeworks_uid=short"})
        assert r.cookies["edgeworks_uid"] != "short"
        assert len(r.cookies["edgeworks_uid"]) == 22


async def test_blue_green_unreachable_origin_is_a_502() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with client_for({"active": "blue"}, transport=httpx.MockTransport(refuse)) as client:
        r = await client.get("/")
    assert r.status_code == 502 and "origin could not be reached" in r.text


async def test_blue_green_missing_origin_var_is_a_502_naming_it_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="edgeworks.workers.blue_green")
    async with client_for({"active": "green"}, vars={"BLUE_ORIGIN": "http://blue.test"}) as client:
        r = await client.get("/")
    assert r.status_code == 502 and "GREEN_ORIGIN" not in r.text
    assert "GREEN_ORIGIN is not set" in caplog.text


# --- two real origins behind a real `edgeworks serve` ------------------------------------


@pytest.fixture(scope="module")
def served(origins: dict[str, Origin], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The examples/blue-green worker under `edgeworks serve`, 50% green; yields its URL."""
    root = tmp_path_factory.mktemp("blue-green")
    store_url = write_project(
        root,
        REPO_ROOT / "examples" / "blue-green" / "worker.py",
        {"BLUE_ORIGIN": origins["blue"].url, "GREEN_ORIGIN": origins["green"].url},
        {"DEPLOY": "deploy"},
    )
    config = json.dumps({"active": "blue", "green_percent": 50})
    asyncio.run(seed(store_url, "deploy", {"deploy:config": config}))
    proc, url = start_serve(root)
    try:
        yield url
    finally:
        assert proc.stop() == 0, proc.output


def test_blue_green_real_origins_sticky_users_reach_their_colour(served: str) -> None:
    seen = set()
    with httpx.Client(base_url=served, timeout=10) as http:
        for _ in range(40):
            first = http.get("/who", headers=NEW_USER)
            color = first.headers[COLOR_HEADER]
            assert first.json()["color"] == color == first.headers["x-origin-color"]
            user = {"Cookie": f"edgeworks_uid={first.cookies['edgeworks_uid']}"}
            for _ in range(3):
                again = http.get("/who", headers=user)
                assert again.json()["color"] == again.headers[COLOR_HEADER] == color
            seen.add(color)
    assert seen == {"blue", "green"}  # 50%: all 40 on one colour has p = 2e-12


@pytest.mark.parametrize("color", ["blue", "green"])
def test_blue_green_real_origins_post_body_and_big_response_intact(served: str, color: str) -> None:
    body = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4 bytes
    forced = {"X-Edgeworks-Force-Color": color}
    with httpx.Client(base_url=served, timeout=10) as http:
        echoed = http.post(
            "/echo", content=body, headers={**forced, "Content-Type": "application/x-test"}
        )
        assert echoed.status_code == 200 and echoed.headers["x-origin-color"] == color
        assert echoed.headers["content-type"] == "application/x-test"
        assert echoed.content == body
        chunked = http.post("/echo", content=iter([body[:1000], body[1000:]]), headers=forced)
        assert chunked.content == body
        big = http.get("/big", headers=forced)
        assert big.content == bytes(range(256)) * 4096


def test_blue_green_real_origins_stream_through_as_they_are_produced(
    served: str, origins: dict[str, Origin]
) -> None:
    # The origin sends "first", then waits until /__release: a router that buffered the
    # whole response would never hand over "first" and the read below would time out.
    with (
        httpx.Client(base_url=served, timeout=10) as http,
        http.stream("GET", "/stream", headers={"X-Edgeworks-Force-Color": "green"}) as r,
    ):
        assert r.headers[COLOR_HEADER] == "green"
        chunks = r.iter_raw()
        received = next(chunks)
        assert received.startswith(b"first\n")
        assert httpx.get(f"{origins['green'].url}/__release", timeout=5).status_code == 200
        received += b"".join(chunks)
    assert received == b"first\nsecond\n" + b"x" * 262144


async def test_blue_green_passes_redirects_and_head_through_untouched() -> None:
    def origin(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(302, headers={"Location": "/new"})
        return httpx.Response(200, content=b"body", headers={"X-Method": request.method})

    async with client_for({"active": "blue"}, transport=httpx.MockTransport(origin)) as client:
        moved = await client.get("/old")
        head = await client.head("/page")
    assert moved.status_code == 302 and moved.headers["location"] == "/new"  # not followed
    assert head.status_code == 200 and head.headers["x-method"] == "HEAD" and head.content == b""
