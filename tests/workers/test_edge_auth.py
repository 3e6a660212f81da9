"""Edge auth: token parsing rules, then the worker through WorkerClient with an origin
that counts its hits (unauthorized requests must never reach it)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from kv import EdgeCache, KVError, KVNamespace
from runtime import Env
from runtime.testing import WorkerClient
from tests.support import REPO_ROOT, edgeworks
from tests.workers._serve import Origin, seed, start_serve, write_project
from workers.edge_auth import (
    MAX_TOKEN_LENGTH,
    Principal,
    _without_cookie,
    parse_principal,
    presented_token,
    well_formed,
)


def request_with(headers: list[tuple[str, str]]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Authorization", "Bearer abc.def")], ("abc.def", True)),
        ([("Authorization", "bearer   abc")], ("abc", True)),
        ([("Cookie", "edgeworks_token=xyz; other=1")], ("xyz", False)),
        ([("Authorization", "Basic dXNlcjpwdw=="), ("Cookie", "edgeworks_token=c")], ("c", False)),
        ([("Authorization", "Bearer ")], (None, False)),
        ([("Authorization", "Basic dXNlcjpwdw==")], (None, False)),
        ([], (None, False)),
    ],
)
def test_presented_token_reads_bearer_header_then_cookie(
    headers: list[tuple[str, str]], expected: tuple[str | None, bool]
) -> None:
    assert presented_token(request_with(headers), "edgeworks_token") == expected


def test_presented_token_ignores_cookie_when_cookie_auth_is_off() -> None:
    assert presented_token(request_with([("Cookie", "edgeworks_token=x")]), "") == (None, False)


@pytest.mark.parametrize("token", ["abc", "A-Z_a.z~0+9/==", "x" * MAX_TOKEN_LENGTH, "dGVzdA=="])
def test_well_formed_accepts_rfc6750_tokens(token: str) -> None:
    assert well_formed(token)


@pytest.mark.parametrize(
    "token",
    ["x" * (MAX_TOKEN_LENGTH + 1), "a b", "a\x00b", "é", "a=b", "a,b", "a;b"],
)
def test_well_formed_refuses_long_or_odd_tokens(token: str) -> None:
    assert not well_formed(token)


def test_parse_principal_reads_user_and_scopes() -> None:
    assert parse_principal("alice", {"scopes": ["read", "write"]}) == Principal(
        "alice", ("read", "write")
    )
    assert parse_principal("bob", None) == Principal("bob")
    assert parse_principal("bob", {"note": "no scopes"}) == Principal("bob")


@pytest.mark.parametrize(
    ("user", "metadata"),
    [
        ("", None),
        ("alice\r\nX-Admin: 1", None),
        ("x" * 257, None),
        ("alice", {"scopes": "read"}),
        ("alice", {"scopes": ["read,write"]}),
        ("alice", {"scopes": [1]}),
    ],
)
def test_parse_principal_refuses_entries_unsafe_as_headers(user: str, metadata: object) -> None:
    assert parse_principal(user, metadata) is None


def test_without_cookie_removes_only_the_token_cookie() -> None:
    assert _without_cookie("a=1; edgeworks_token=s3cret; b=2", "edgeworks_token") == "a=1; b=2"
    assert _without_cookie("edgeworks_token=s3cret", "edgeworks_token") == ""


# --- the worker through WorkerClient, with an origin that counts its hits ---------------

WORKER = REPO_ROOT / "workers" / "edge_auth.py"
ORIGIN = "http://origin.test"
DAY = 86400
SCOPES = json.dumps({"scopes": ["read", "write"]})


class CountingOrigin:
    """A mock origin that records every request that reaches it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests.append(request)
        user = request.headers.get("x-edgeworks-user", "")
        return httpx.Response(200, content=f"hello {user}|".encode() + body)

    @property
    def hits(self) -> int:
        return len(self.requests)


async def issue(
    client: WorkerClient, token: str, user: str, ttl: int = DAY, scopes: list[str] | None = None
) -> None:
    """What ``edgeworks kv key put token:... USER --ttl ... --metadata ...`` does."""
    metadata = {"scopes": scopes} if scopes is not None else None
    await client.env.TOKENS.put(f"token:{token}", user, expiration_ttl=ttl, metadata=metadata)


def auth_client(origin: CountingOrigin, **vars: str) -> WorkerClient:
    return WorkerClient(
        WORKER, kv={"TOKENS": {}}, vars={"ORIGIN": ORIGIN, **vars}, transport=origin.transport
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_edge_auth_1000_unauthorized_requests_never_reach_the_origin() -> None:
    origin = CountingOrigin()
    async with auth_client(origin) as client:
        await issue(client, "valid-token", "alice")
        attempts: list[dict[str, str]] = [
            {},
            bearer("wrong"),
            {"Authorization": "Basic YWxpY2U6cHc="},
            {"Authorization": "Bearer"},
            {"Cookie": "edgeworks_token=nope"},
            bearer("valid-token" + "x"),
            bearer("x" * 300),
            bearer("a b"),
            {"X-Edgeworks-User": "alice"},
            bearer("valid-token\x00"),
        ]
        for i in range(1000):
            headers = attempts[i % len(attempts)]
            r = await client.request(("GET", "POST", "DELETE")[i % 3], f"/p{i}", headers=headers)
            assert r.status_code == 401, (headers, r.status_code)
            assert r.headers["www-authenticate"].startswith('Bearer realm="edgeworks"')
    assert origin.hits == 0


async def test_edge_auth_401_says_whether_a_token_was_sent() -> None:
    async with auth_client(CountingOrigin(), REALM="api") as client:
        missing = await client.get("/")
        invalid = await client.get("/", headers=bearer("nope"))
    assert missing.headers["www-authenticate"] == 'Bearer realm="api"'
    assert invalid.headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert "send a bearer token" in missing.text
    assert "invalid, expired or revoked" in invalid.text


async def test_edge_auth_valid_token_passes_with_user_and_scopes() -> None:
    origin = CountingOrigin()
    async with auth_client(origin) as client:
        await issue(client, "t0k3n", "alice", scopes=["read", "write"])
        r = await client.post("/items?x=1", headers=bearer("t0k3n"), content=b"payload")
    assert r.status_code == 200 and r.text == "hello alice|payload"
    upstream = origin.requests[0]
    assert str(upstream.url) == f"{ORIGIN}/items?x=1"
    assert upstream.headers["x-edgeworks-user"] == "alice"
    assert upstream.headers["x-edgeworks-scopes"] == "read,write"
    assert "authorization" not in upstream.headers  # the credential stays at the edge


async def test_edge_auth_strips_client_supplied_identity_headers() -> None:
    origin = CountingOrigin()
    async with auth_client(origin) as client:
        await issue(client, "t0k3n", "alice")
        headers = [
            ("Authorization", "Bearer t0k3n"),
            ("X-Edgeworks-User", "admin"),
            ("x-edgeworks-user", "root"),
            ("X-EDGEWORKS-SCOPES", "admin"),
        ]
        r = await client.get("/", headers=headers)
    assert r.status_code == 200
    sent = origin.requests[0].headers
    assert sent.get_list("x-edgeworks-user") == ["alice"]
    assert sent.get_list("x-edgeworks-scopes") == [""]


async def test_edge_auth_token_in_cookie_passes_and_is_not_forwarded() -> None:
    origin = CountingOrigin()
    async with auth_client(origin) as client:
        await issue(client, "cookie-token", "carol")
        r = await client.get("/", headers={"Cookie": "theme=dark; edgeworks_token=cookie-token"})
    assert r.status_code == 200 and r.text == "hello carol|"
    assert origin.requests[0].headers["cookie"] == "theme=dark"


async def test_edge_auth_token_expires_by_kv_ttl() -> None:
    origin = CountingOrigin()
    async with auth_client(origin) as client:
        await issue(client, "short-lived", "dave", ttl=3600)
        assert (await client.get("/", headers=bearer("short-lived"))).status_code == 200
        client.clock.advance(3599)
        assert (await client.get("/", headers=bearer("short-lived"))).status_code == 200
        client.clock.advance(1)
        r = await client.get("/", headers=bearer("short-lived"))
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    assert origin.hits == 2


async def test_edge_auth_expiry_wins_over_a_location_cache() -> None:
    origin = CountingOrigin()
    async with auth_client(origin) as client:
        cache_tokens(client)
        await issue(client, "short-lived", "dave", ttl=60)
        assert (await client.get("/", headers=bearer("short-lived"))).status_code == 200
        client.clock.advance(60)  # cached copy is fresh for 60 s, but the token has expired
        assert (await client.get("/", headers=bearer("short-lived"))).status_code == 401
    assert origin.hits == 1


async def test_edge_auth_revoked_token_gets_401() -> None:
    origin = CountingOrigin()
    async with auth_client(origin) as client:
        await issue(client, "revoke-me", "erin")
        assert (await client.get("/", headers=bearer("revoke-me"))).status_code == 200
        await client.env.TOKENS.delete("token:revoke-me")  # edgeworks kv key delete ...
        assert (await client.get("/", headers=bearer("revoke-me"))).status_code == 401
    assert origin.hits == 1


async def test_edge_auth_revocation_reaches_a_caching_location_within_the_cache_ttl() -> None:
    origin = CountingOrigin()
    async with auth_client(origin, TOKEN_CACHE_TTL="30") as client:
        store_view = cache_tokens(client)
        await issue(client, "revoke-me", "erin")
        assert (await client.get("/", headers=bearer("revoke-me"))).status_code == 200
        await store_view.delete("token:revoke-me")  # revoked from elsewhere (the CLI)
        client.clock.advance(29)
        assert (await client.get("/", headers=bearer("revoke-me"))).status_code == 200
        client.clock.advance(1)
        assert (await client.get("/", headers=bearer("revoke-me"))).status_code == 401


async def test_edge_auth_required_scope_gives_403_without_it() -> None:
    origin = CountingOrigin()
    async with auth_client(origin, REQUIRED_SCOPE="admin") as client:
        await issue(client, "reader", "frank", scopes=["read"])
        await issue(client, "boss", "grace", scopes=["read", "admin"])
        assert (await client.get("/", headers=bearer("reader"))).status_code == 403
        assert (await client.get("/", headers=bearer("boss"))).status_code == 200
    assert origin.hits == 1


async def test_edge_auth_malformed_entry_is_refused_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    origin = CountingOrigin()
    async with auth_client(origin) as client:
        await client.env.TOKENS.put("token:bad", "mallory\r\nX-Admin: 1")
        r = await client.get("/", headers=bearer("bad"))
    assert r.status_code == 401 and origin.hits == 0
    assert "malformed" in caplog.text


async def test_edge_auth_store_outage_fails_closed() -> None:
    class Down:
        async def get_with_metadata(self, *args: Any, **kwargs: Any) -> Any:
            raise KVError("GET", 503, "Store unavailable: connection refused")

    origin = CountingOrigin()
    async with auth_client(origin) as client:
        worker = client.host.current.worker
        assert worker is not None
        client.host.swap(worker, Env({**client.env.as_dict(), "TOKENS": Down()}))
        r = await client.get("/", headers=bearer("anything"))
    assert r.status_code == 503 and origin.hits == 0


async def test_edge_auth_missing_origin_is_a_502_not_an_open_door() -> None:
    origin = CountingOrigin()
    async with WorkerClient(WORKER, kv={"TOKENS": {}}, transport=origin.transport) as client:
        await issue(client, "t", "alice")
        assert (await client.get("/", headers=bearer("t"))).status_code == 502
        assert (await client.get("/")).status_code == 401
    assert origin.hits == 0


async def test_edge_auth_origin_cookies_never_leak_to_another_user() -> None:
    # The runtime's HTTP client is shared by every request: it must not keep a cookie jar.
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        # Domain=origin.test: the test client (worker.test) drops it; only a jar in the
        # worker's outbound client could store it.
        cookie = "session=alice-secret; Domain=origin.test; Path=/"
        return httpx.Response(200, headers={"Set-Cookie": cookie})

    transport = httpx.MockTransport(handler)
    async with WorkerClient(
        WORKER, kv={"TOKENS": {}}, vars={"ORIGIN": ORIGIN}, transport=transport
    ) as client:
        await issue(client, "a", "alice")
        await issue(client, "b", "bob")
        await client.get("/", headers=bearer("a"))
        await client.get("/", headers=bearer("b"))
    assert seen == [None, None]


def cache_tokens(client: WorkerClient) -> KVNamespace:
    """Give the client's location an edge cache for TOKENS, as in ``edgeworks serve``;
    return an uncached view of the same store (another location, or the CLI)."""
    plain = client.env.TOKENS
    cached = KVNamespace(plain.store, plain.id, clock=client.clock, cache=EdgeCache())
    worker = client.host.current.worker
    assert worker is not None
    client.host.swap(worker, Env({**client.env.as_dict(), "TOKENS": cached}))
    return plain


# --- the example project under a real `edgeworks serve`, tokens issued with the CLI ----


def kv_cli(root: Path, *args: str) -> None:
    """Run ``edgeworks kv key ...`` against the project, as the docs tell users to."""
    proc = edgeworks("kv", "key", *args, "--binding", "TOKENS", "--config", str(root))
    assert proc.wait(timeout=20) == 0, proc.output


def test_edge_auth_real_serve_rejects_at_the_edge_and_admits_cli_issued_tokens(
    origins: dict[str, Origin], tmp_path: Path
) -> None:
    origin = origins["blue"]
    store_url = write_project(
        tmp_path,
        REPO_ROOT / "examples" / "edge-auth" / "worker.py",
        {"ORIGIN": origin.url},
        {"TOKENS": "tokens"},
    )
    asyncio.run(seed(store_url, "tokens", {"token:revoked": "bob"}))
    kv_cli(tmp_path, "put", "token:s3cr3t", "alice", "--ttl", "3600", "--metadata", SCOPES)
    kv_cli(tmp_path, "delete", "token:revoked")
    proc, url = start_serve(tmp_path)
    try:
        before = origin.hits()
        with httpx.Client(base_url=url, timeout=10) as http:
            for i in range(200):
                headers = (
                    {},
                    bearer("guess"),
                    bearer("revoked"),
                    {"X-Edgeworks-User": "alice"},
                )[i % 4]
                assert http.post("/who", headers=headers, content=b"x").status_code == 401
            assert origin.hits() == before
            ok = http.get("/who", headers={**bearer("s3cr3t"), "X-Edgeworks-User": "root"})
    finally:
        assert proc.stop() == 0, proc.output
    assert ok.status_code == 200 and origin.hits() == before + 1
    sent = {k.lower(): v for k, v in ok.json()["headers"]}
    assert sent["x-edgeworks-user"] == "alice"
    assert sent["x-edgeworks-scopes"] == "read,write"
    assert "authorization" not in sent
    assert [k for k, _ in ok.json()["headers"]].count("x-edgeworks-user") == 1
