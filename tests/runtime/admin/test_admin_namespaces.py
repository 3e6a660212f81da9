"""Namespace endpoints: paging that ends, create/get/rename/delete reaching the store."""

from __future__ import annotations

from kv import KVNamespace
from tests.runtime.admin.admin_support import NS, SHORT
from tests.runtime.admin.conftest import Admin


async def test_namespaces_list_bound_and_stored_with_titles(admin: Admin) -> None:
    await admin.store.create_namespace("zeta")
    r = await admin.client.get(NS)
    body = r.json()
    assert body["result"] == [
        {"id": "counter", "title": "COUNTER", "supports_url_encoding": True},
        {"id": "zeta", "title": "zeta", "supports_url_encoding": True},
    ]
    assert body["result_info"] == {
        "page": 1,
        "per_page": 20,
        "count": 2,
        "total_count": 2,
        "total_pages": 1,
    }


async def test_namespaces_pages_end_with_an_empty_page(admin: Admin) -> None:
    for i in range(5):
        await admin.store.create_namespace(f"ns{i}")
    seen: list[str] = []
    page = 1
    while True:  # how wrangler and the SDK page: until a page is empty
        r = await admin.client.get(
            NS, params={"per_page": 2, "page": page, "order": "title", "direction": "desc"}
        )
        result = r.json()["result"]
        if not result:
            break
        seen += [ns["title"] for ns in result]
        page += 1
    assert page == 4
    assert seen == ["ns4", "ns3", "ns2", "ns1", "ns0", "COUNTER"]
    r = await admin.client.get(NS, params={"page": 99})
    assert r.json()["result"] == [] and r.json()["result_info"]["total_count"] == 6


async def test_namespaces_bad_paging_is_400(admin: Admin) -> None:
    for query in ("page=0", "page=x", "per_page=1001", "order=size", "direction=up"):
        r = await admin.client.get(f"{NS}?{query}")
        assert (r.status_code, r.json()["errors"][0]["code"]) == (400, 10001), query


async def test_namespaces_create_reaches_the_store_and_refuses_duplicates(admin: Admin) -> None:
    r = await admin.client.post(NS, json={"title": "sessions"})
    assert r.json()["result"] == {
        "id": "sessions",
        "title": "sessions",
        "supports_url_encoding": True,
    }
    assert "sessions" in await admin.store.list_namespaces()
    for title in ("sessions", "COUNTER", "counter"):
        r = await admin.client.post(NS, json={"title": title})
        assert (r.status_code, r.json()["errors"][0]["code"]) == (400, 10014), title
    for body in ({"title": ""}, {"title": 5}, {}, ["x"], {"title": "x" * 513}):
        r = await admin.client.post(NS, json=body)
        assert (r.status_code, r.json()["errors"][0]["code"]) == (400, 10001), body
    r = await admin.client.post(NS, content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "must be JSON" in r.json()["errors"][0]["message"]


async def test_namespaces_get_and_unknown_is_10013(admin: Admin) -> None:
    r = await admin.client.get(f"{NS}/counter")
    assert r.json()["result"]["title"] == "COUNTER"
    for method, path in [
        ("GET", ""),
        ("GET", "/keys"),
        ("GET", "/values/k"),
        ("PUT", "/values/k"),
        ("DELETE", ""),
        ("PUT", "/bulk"),
    ]:
        r = await admin.client.request(method, f"{NS}/missing{path}", content=b"[]")
        assert (r.status_code, r.json()["errors"][0]["code"]) == (404, 10013), (method, path)
    assert "missing" not in await admin.store.list_namespaces()


async def test_namespaces_rename_moves_keys_with_expiration_and_metadata(admin: Admin) -> None:
    old = KVNamespace(admin.store, "old", clock=admin.clock)
    for i in range(5):
        await old.put(f"k{i}", f"v{i}", expiration_ttl=600, metadata={"i": i})
    r = await admin.client.put(f"{NS}/old", json={"title": "new"})
    assert r.json()["result"] == {"id": "new", "title": "new", "supports_url_encoding": True}
    assert await admin.store.list_namespaces() == ["new"]
    keys = (await admin.client.get(f"{NS}/new/keys")).json()["result"]
    assert keys[4] == {"name": "k4", "expiration": int(admin.clock.now) + 600, "metadata": {"i": 4}}
    r = await admin.client.put(f"{NS}/counter", json={"title": "renamed"})
    assert r.status_code == 400 and "bound in edgeworks.toml" in r.json()["errors"][0]["message"]


async def test_namespaces_delete_drops_every_key(admin: Admin) -> None:
    ns = KVNamespace(admin.store, "gone", clock=admin.clock)
    await ns.put("a", "1")
    r = await admin.client.delete(f"{SHORT}/gone")
    assert r.json()["success"] is True
    assert await admin.store.list_namespaces() == []
    assert (await admin.client.delete(f"{SHORT}/gone")).status_code == 404


async def test_namespaces_count_is_capped(admin: Admin) -> None:
    await admin.client.put(
        f"{NS}/counter/bulk", json=[{"key": f"k{i}", "value": "v"} for i in range(30)]
    )
    r = await admin.client.get(f"{SHORT}/counter/count")
    assert r.json()["result"] == {"count": 30, "complete": True}
