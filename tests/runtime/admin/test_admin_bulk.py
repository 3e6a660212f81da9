"""Bulk write, both forms of bulk delete, bulk get; all-or-nothing on bad input."""

from __future__ import annotations

import base64

from kv import KVNamespace
from tests.runtime.admin.admin_support import NS
from tests.runtime.admin.conftest import Admin


async def test_bulk_write_then_get_with_metadata(admin: Admin) -> None:
    items = [
        {"key": "a", "value": "1", "metadata": {"n": 1}},
        {"key": "b", "value": base64.b64encode(b"\x00\x01").decode(), "base64": True},
        {"key": "c", "value": "[1, 2]", "expiration_ttl": 120},
    ]
    r = await admin.client.put(f"{NS}/counter/bulk", json=items)
    assert r.json()["result"] == {"successful_key_count": 3, "unsuccessful_keys": []}
    ns = KVNamespace(admin.store, "counter", clock=admin.clock)
    assert await ns.get("b", "bytes") == b"\x00\x01"
    r = await admin.client.post(
        f"{NS}/counter/bulk/get", json={"keys": ["a", "c", "zz"], "withMetadata": True}
    )
    assert r.json()["result"] == {
        "values": {
            "a": {"value": "1", "metadata": {"n": 1}},
            "c": {"value": "[1, 2]", "metadata": None},
            "zz": None,
        }
    }
    r = await admin.client.post(f"{NS}/counter/bulk/get", json={"keys": ["c"], "type": "json"})
    assert r.json()["result"] == {"values": {"c": [1, 2]}}


async def test_bulk_delete_as_wrangler_and_as_the_sdk(admin: Admin) -> None:
    await admin.client.put(f"{NS}/counter/bulk", json=[{"key": k, "value": "v"} for k in "abcd"])
    r = await admin.client.request("DELETE", f"{NS}/counter/bulk", json=["a", "b"])
    assert r.json()["result"] == {"successful_key_count": 2, "unsuccessful_keys": []}
    r = await admin.client.post(f"{NS}/counter/bulk/delete", json=["c"])
    assert r.json()["result"]["successful_key_count"] == 1
    keys = (await admin.client.get(f"{NS}/counter/keys")).json()["result"]
    assert keys == [{"name": "d"}]


async def test_bulk_bad_items_write_nothing_and_name_every_problem(admin: Admin) -> None:
    items = [
        {"key": "ok", "value": "v"},
        {"key": "k" * 513, "value": "v"},
        {"key": "t", "value": "v", "expiration_ttl": 10},
        {"key": "n", "value": 5},
        "just a string",
    ]
    r = await admin.client.put(f"{NS}/counter/bulk", json=items)
    assert r.status_code == 400
    message = r.json()["errors"][0]["message"]
    assert "4 invalid item(s), nothing was written" in message
    for part in (
        "item 1",
        "exceeds key length limit",
        "item 2",
        "at least 60",
        "item 3",
        "value must be a string",
        "item 4",
    ):
        assert part in message
    assert await admin.store.list_keys("counter", "", None, 10, admin.clock()) == []


async def test_bulk_malformed_bodies_are_400_never_500(admin: Admin) -> None:
    cases = [
        ("PUT", "bulk", b"{not json"),
        ("PUT", "bulk", b'{"key": "a"}'),
        ("PUT", "bulk", b"\xff\xfe"),
        ("DELETE", "bulk", b"[1, 2]"),
        ("POST", "bulk/delete", b'"a"'),
        ("POST", "bulk/get", b"[]"),
        ("POST", "bulk/get", b'{"keys": "a"}'),
        ("POST", "bulk/get", b'{"keys": []}'),
        ("POST", "bulk/get", b'{"keys": [1]}'),
        ("POST", "bulk/get", b'{"keys": ["a"], "type": "xml"}'),
        ("POST", "bulk/get", b'{"keys": ["a"], "withMetadata": "yes"}'),
        ("POST", "bulk/get", b'{"keys": [' + b",".join(b'"k%d"' % i for i in range(101)) + b"]}"),
        ("POST", "bulk/get", b"NaN"),
    ]
    for method, path, body in cases:
        r = await admin.client.request(method, f"{NS}/counter/{path}", content=body)
        assert r.status_code == 400, (method, path, body, r.text)
        assert r.json()["errors"][0]["code"] == 10001


async def test_bulk_more_than_10000_items_is_refused(admin: Admin) -> None:
    r = await admin.client.request(
        "DELETE", f"{NS}/counter/bulk", json=[f"k{i}" for i in range(10_001)]
    )
    assert r.status_code == 400
    assert (
        r.json()["errors"][0]["message"] == "a bulk request may hold at most 10000 items, got 10001"
    )
