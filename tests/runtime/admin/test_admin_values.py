"""Values, metadata and keys through raw HTTP, as wrangler and the SDKs send them."""

from __future__ import annotations

import json

from kv import KVNamespace
from tests.runtime.admin.admin_support import NS, SHORT
from tests.runtime.admin.conftest import Admin

ODD_KEY = "a/b c?%+;=@é"
ODD_SEGMENT = "a%2Fb%20c%3F%25+;=@%C3%A9"  # what the SDK sends: + ; = @ left as they are


async def test_values_raw_body_roundtrips_bytes_with_expiration_header(admin: Admin) -> None:
    value = bytes(range(256)) * 3
    r = await admin.client.put(
        f"{NS}/counter/values/blob?expiration_ttl=120.0",
        content=value,
        headers={"content-type": "text/plain;charset=UTF-8"},
    )
    assert r.status_code == 200
    assert r.json() == {"success": True, "errors": [], "messages": [], "result": None}
    r = await admin.client.get(f"{NS}/counter/values/blob")
    assert r.status_code == 200
    assert r.content == value
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["expiration"] == str(int(admin.clock.now) + 120)


async def test_values_without_content_type_are_the_body(admin: Admin) -> None:
    await admin.client.put(f"{NS}/counter/values/k", content=b'{"metadata":1,"value":"x"}')
    ns = KVNamespace(admin.store, "counter", clock=admin.clock)
    assert await ns.get("k") == '{"metadata":1,"value":"x"}'  # old SDKs: stored as sent


async def test_values_multipart_with_text_plain_metadata_part(admin: Admin) -> None:
    files = {
        "value": (None, b"hello", "text/plain"),
        "metadata": (None, b'{"lang": "en"}', "text/plain"),
    }
    r = await admin.client.put(f"{NS}/counter/values/greeting?expiration=1800000600", files=files)
    assert r.status_code == 200, r.text
    r = await admin.client.get(f"{NS}/counter/metadata/greeting")
    assert r.json()["result"] == {"lang": "en"}
    r = await admin.client.get(f"{NS}/counter/keys")
    assert r.json()["result"] == [
        {"name": "greeting", "expiration": 1800000600, "metadata": {"lang": "en"}}
    ]
    ns = KVNamespace(admin.store, "counter", clock=admin.clock)
    assert await ns.get("greeting") == "hello"


async def test_values_multipart_file_part_keeps_bytes(admin: Admin) -> None:
    value = b"\r\n--not-a-boundary\r\n\x00\xff"
    files = {
        "value": ("upload", value, "application/octet-stream"),
        "metadata": (None, json.dumps({"n": 1}).encode(), "application/json"),
    }
    assert (await admin.client.put(f"{NS}/counter/values/f", files=files)).status_code == 200
    assert (await admin.client.get(f"{NS}/counter/values/f")).content == value


async def test_values_odd_keys_are_decoded_once_from_the_raw_path(admin: Admin) -> None:
    r = await admin.client.put(f"{NS}/counter/values/{ODD_SEGMENT}", content=b"v")
    assert r.status_code == 200
    keys = (await admin.client.get(f"{NS}/counter/keys")).json()["result"]
    assert keys == [{"name": ODD_KEY}]
    assert (await admin.client.get(f"{SHORT}/counter/values/{ODD_SEGMENT}")).content == b"v"
    # %2525 is "%25" decoded once: a different key, not found.
    r = await admin.client.get(f"{NS}/counter/values/a%2525")
    assert (r.status_code, r.json()["errors"][0]["code"]) == (404, 10009)
    r = await admin.client.delete(
        f"{NS}/counter/values/{ODD_SEGMENT}", headers={"content-type": "application/json"}
    )
    assert r.status_code == 200
    assert (await admin.client.get(f"{NS}/counter/keys")).json()["result"] == []


async def test_values_missing_key_is_404_code_10009(admin: Admin) -> None:
    for path in ("values", "metadata"):
        r = await admin.client.get(f"{NS}/counter/{path}/nope")
        assert r.status_code == 404
        body = r.json()
        assert body["success"] is False and body["result"] is None
        assert body["errors"][0]["code"] == 10009


async def test_values_kv_limits_are_code_10001_and_store_nothing(admin: Admin) -> None:
    cases = [
        (f"values/{'k' * 513}", {}, "exceeds key length limit of 512"),
        ("values/k?expiration_ttl=30", {}, "Expiration TTL must be at least 60"),
        ("values/k?expiration=1800000010", {}, "at least 60 seconds in the future"),
        ("values/k?expiration_ttl=soon", {}, "expiration_ttl must be a number"),
        ("values/%2E%2E", {}, "is not allowed as a key name"),
    ]
    for path, headers, message in cases:
        r = await admin.client.put(f"{NS}/counter/{path}", content=b"v", headers=headers)
        assert r.status_code == 400, path
        error = r.json()["errors"][0]
        assert error["code"] == 10001 and message in error["message"], (path, error)
    too_big = {
        "value": (None, b"v", "text/plain"),
        "metadata": (None, b'"' + b"m" * 1100 + b'"', "text/plain"),
    }
    r = await admin.client.put(f"{NS}/counter/values/k", files=too_big)
    assert r.status_code == 400
    assert "Metadata length of 1102 exceeds limit of 1024" in r.json()["errors"][0]["message"]
    assert await admin.store.list_keys("counter", "", None, 10, admin.clock()) == []


async def test_values_bad_multipart_is_400(admin: Admin) -> None:
    no_value = {"metadata": (None, b"{}", "application/json")}
    r = await admin.client.put(f"{NS}/counter/values/k", files=no_value)
    assert (r.status_code, r.json()["errors"][0]["message"]) == (
        400,
        "Missing value field: a multipart body needs a part named 'value'",
    )
    bad_meta = {"value": (None, b"v", "text/plain"), "metadata": (None, b"{nope", "text/plain")}
    r = await admin.client.put(f"{NS}/counter/values/k", files=bad_meta)
    assert r.status_code == 400 and "Invalid metadata JSON" in r.json()["errors"][0]["message"]
    r = await admin.client.put(
        f"{NS}/counter/values/k",
        content=b"--x\r\nno headers here",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 400 and "malformed multipart" in r.json()["errors"][0]["message"]
    assert await admin.store.list_keys("counter", "", None, 10, admin.clock()) == []


async def test_keys_pages_end_with_empty_cursor(admin: Admin) -> None:
    ns = KVNamespace(admin.store, "counter", clock=admin.clock)
    for i in range(25):
        await ns.put(f"user:{i:02}", "x")
    await ns.put("other", "x")
    names: list[str] = []
    cursor = ""
    pages = 0
    while True:
        r = await admin.client.get(
            f"{NS}/counter/keys", params={"prefix": "user:", "limit": 10, "cursor": cursor}
        )
        body = r.json()
        names += [k["name"] for k in body["result"]]
        assert body["result_info"]["count"] == len(body["result"])
        cursor = body["result_info"]["cursor"]
        pages += 1
        if cursor == "":
            break
    assert pages == 3
    assert names == [f"user:{i:02}" for i in range(25)]


async def test_keys_bad_parameters_are_400(admin: Admin) -> None:
    for query, message in [
        ("limit=5", "from 10 to 1000"),
        ("limit=1001", "from 10 to 1000"),
        ("limit=ten", "limit must be a number"),
        ("cursor=garbage", "Invalid cursor."),
        (f"prefix={'p' * 600}", "exceeds key length limit"),
    ]:
        r = await admin.client.get(f"{NS}/counter/keys?{query}")
        assert r.status_code == 400, query
        assert message in r.json()["errors"][0]["message"], query
