"""Routing, the account endpoints, request size, the page's files, and the guard."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kv import KVNamespace
from runtime.admin import AdminApp, AdminState, Guard
from tests.runtime.admin.admin_support import NS, SHORT, V4, asgi_client
from tests.runtime.admin.conftest import Admin


async def test_accounts_and_memberships_page_like_wrangler_expects(admin: Admin) -> None:
    accounts = (await admin.client.get(f"{V4}/accounts?page=1")).json()
    memberships = (await admin.client.get(f"{V4}/memberships?page=1")).json()
    assert accounts["result"][0]["id"] == memberships["result"][0]["account"]["id"]
    assert accounts["result"][0]["name"] == "demo"
    assert accounts["result_info"]["total_count"] == memberships["result_info"]["total_count"] == 1
    assert (await admin.client.get(f"{V4}/accounts?page=2")).json()["result"] == []
    user = (await admin.client.get(f"{V4}/user")).json()["result"]
    token = (await admin.client.get(f"{V4}/user/tokens/verify")).json()["result"]
    assert "@" in user["email"] and token["status"] == "active"


async def test_routes_unknown_path_and_method(admin: Admin) -> None:
    r = await admin.client.get(f"{V4}/zones")
    assert (r.status_code, r.json()["errors"][0]["code"]) == (404, 7003)
    r = await admin.client.patch(f"{NS}/counter/values/k")
    assert r.status_code == 405
    assert "allowed: DELETE, GET, PUT" in r.json()["errors"][0]["message"]
    r = await admin.client.get(f"{NS}/counter/values/bad%FFkey")
    assert r.status_code == 400 and "percent-encoded UTF-8" in r.json()["errors"][0]["message"]


async def test_routes_unencoded_slash_in_key_is_part_of_the_key(admin: Admin) -> None:
    await admin.client.put(f"{NS}/counter/values/dir/file.txt", content=b"x")  # old SDKs
    ns = KVNamespace(admin.store, "counter", clock=admin.clock)
    assert await ns.get("dir/file.txt") == "x"


async def test_routes_oversize_body_is_413_before_reading(admin: Admin) -> None:
    sent: list[dict[str, Any]] = []
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "PUT",
        "path": f"{NS}/counter/values/k",
        "raw_path": f"{NS}/counter/values/k".encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8787"), (b"content-length", b"104857601")],
    }
    await admin.app(scope, receive, send)
    assert sent[0]["status"] == 413 and received == 0
    assert b"exceeds the admin API limit" in sent[1]["body"]


async def test_page_and_assets_are_served_and_nothing_else(admin: Admin) -> None:
    r = await admin.client.get("/__edgeworks/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<link rel="icon" href="data:,">' in r.text
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        r = await admin.client.get(f"/__edgeworks/assets/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(kind)
    for path in ("/__edgeworks/assets/__init__.py", "/__edgeworks/assets/..%2F..%2Fapp.py"):
        assert (await admin.client.get(path)).status_code == 404


async def test_page_gets_no_live_reload_script(admin: Admin) -> None:
    from runtime.dev.pages import LIVE_RELOAD_SCRIPT, inject_live_reload

    async with asgi_client(inject_live_reload(admin.app)) as client:
        r = await client.get("/__edgeworks/")
    assert r.status_code == 200 and r.text.rstrip().endswith("</html>")
    assert LIVE_RELOAD_SCRIPT.decode() not in r.text


async def test_store_failure_is_503_envelope(admin: Admin) -> None:
    await admin.store.aclose()  # a closed store raises like an unreachable one
    r = await admin.client.get(f"{NS}/counter/keys")
    assert r.status_code == 503
    error = r.json()["errors"][0]
    assert error["code"] == 10000 and error["message"].startswith("Store unavailable: ")


# --- guard ------------------------------------------------------------------------------


@pytest.fixture
async def guarded_app(admin: Admin) -> AdminApp:
    return AdminApp(AdminState(admin.store, clock=admin.clock), Guard(token="s3cret"))


async def test_guard_token_required_on_every_admin_path(
    admin: Admin, guarded_app: AdminApp
) -> None:
    await KVNamespace(admin.store, "secret").put("k", "private-value")
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic Og=="}):
        async with asgi_client(guarded_app, **headers) as client:
            for path in (f"{SHORT}/secret/values/k", f"{NS}", "/__edgeworks/", f"{V4}/accounts"):
                r = await client.get(path)
                assert r.status_code == 401, (headers, path)
                assert r.json()["errors"][0]["code"] == 10000
                assert b"private" not in r.content and b"secret" not in r.content
            assert (await client.put(f"{SHORT}/secret/values/k", content=b"x")).status_code == 401
    assert await KVNamespace(admin.store, "secret").get("k") == "private-value"
    async with asgi_client(guarded_app) as client:
        r = await client.get("/__edgeworks/")
        assert r.headers["www-authenticate"].startswith('Basic realm="edgeworks admin"')


async def test_guard_accepts_bearer_basic_and_x_auth_key(
    admin: Admin, guarded_app: AdminApp
) -> None:
    basic = "Basic " + base64.b64encode(b"anyone:s3cret").decode()
    for headers in (
        {"authorization": "Bearer s3cret"},
        {"authorization": basic},
        {"x-auth-key": "s3cret"},
    ):
        async with asgi_client(guarded_app, **headers) as client:
            assert (await client.get(NS)).status_code == 200, headers


def test_guard_local_only_refuses_foreign_hosts() -> None:
    guard = Guard(local_only=True, bound_host="127.0.0.2")
    for host in ("127.0.0.1:8787", "localhost:8787", "[::1]:8787", "127.0.0.2", "app.localhost:1"):
        assert guard.check("GET", {"host": host}) is None, host
    for host in ("evil.example:8787", "127.0.0.1.evil.example", "", "10.0.0.5:8787"):
        refusal = guard.check("GET", {"host": host})
        assert refusal is not None and refusal.status == 403, host


def test_guard_refuses_cross_origin_writes_only() -> None:
    guard = Guard(local_only=True)
    host = {"host": "127.0.0.1:8787"}
    assert guard.check("PUT", {**host, "origin": "http://127.0.0.1:8787"}) is None
    assert guard.check("GET", {**host, "origin": "http://evil.example"}) is None
    assert guard.check("PUT", host) is None  # wrangler and the SDK send no Origin
    for origin in ("http://evil.example", "null", "http://127.0.0.1:9999", "http://localhost:8787"):
        refusal = guard.check("DELETE", {**host, "origin": origin})
        assert refusal is not None and refusal.status == 403, origin


async def test_bad_input_never_500_and_changes_nothing(admin: Admin) -> None:
    """Junk bodies, queries and segments on every route: a 4xx envelope every time."""
    ns = KVNamespace(admin.store, "counter", clock=admin.clock)
    await ns.put("keep", "original", metadata={"m": 1})
    bodies = [
        b"",
        b"{",
        b"null",
        b"[]",
        b'{"title": null, "keys": {}}',
        b"[{}]",
        b'[{"key": "keep", "value": 1}]',
        b'"\\ud800"',
        b"\xff" * 10,
        b"[" * 5000,
        b'{"keys": ["keep"], "type": 7}',
    ]
    queries = ["", "?limit=-1", "?cursor=%00", "?expiration_ttl=nan", "?page=1e99", "?per_page=0"]
    paths = [
        "",
        "/counter",
        "/counter/keys",
        "/counter/values/%2E",
        "/counter/metadata/",
        "/counter/bulk",
        "/counter/bulk/get",
        "/counter/bulk/delete",
        "/nope/values/keep",
        "/counter/values/%C0%AF",
    ]
    for path in paths:
        for method in ("GET", "PUT", "POST", "DELETE"):
            if (method, path) == ("DELETE", "/counter"):
                continue  # a valid request: it deletes the namespace
            for body in bodies:
                query = queries[len(body) % len(queries)]
                r = await admin.client.request(method, f"{NS}{path}{query}", content=body)
                if r.status_code < 400:
                    continue
                assert r.status_code < 500, (method, path, query, body[:20], r.text)
                assert r.json()["success"] is False
    assert await ns.get_with_metadata("keep") == {
        "value": "original",
        "metadata": {"m": 1},
        "cacheStatus": None,
    }
    assert [k.name for k in (await ns.list()).keys] == ["keep"]


async def test_value_over_25_mib_is_refused(admin: Admin) -> None:
    big = b"x" * (25 * 1024 * 1024 + 1)
    r = await admin.client.put(f"{NS}/counter/values/big", content=big)
    assert r.status_code == 400
    assert r.json()["errors"][0] == {
        "code": 10001,
        "message": "Value length of 26214401 exceeds limit of 26214400.",
    }
    assert (await admin.client.get(f"{NS}/counter/values/big")).status_code == 404
