"""``env`` as Cloudflare Python workers see it: KV shapes to the letter, vars, workers.env."""

from __future__ import annotations

from pathlib import Path

import pytest

from kv import KVNamespace, open_store
from runtime._bindings import KvNamespace
from runtime._entrypoints import cloudflare_view
from runtime.env import Env
from runtime.testing import WorkerClient


@pytest.fixture
async def kv() -> KvNamespace:
    store = open_store("memory://")
    return KvNamespace(KVNamespace(store, "ns"))


async def test_kv_get_shapes(kv: KvNamespace) -> None:
    assert await kv.get("missing") is None
    await kv.put("empty", "")
    assert await kv.get("empty") == ""
    await kv.put("doc", '{"a": {"b": 1}}')
    assert await kv.get("doc") == '{"a": {"b": 1}}'
    assert await kv.get("doc", "json") == {"a": {"b": 1}}
    assert await kv.get("doc", type="json") == {"a": {"b": 1}}
    assert await kv.get("doc", {"type": "json"}) == {"a": {"b": 1}}
    buffer = await kv.get("doc", "arrayBuffer")
    assert isinstance(buffer, memoryview) and bytes(buffer) == b'{"a": {"b": 1}}'
    assert await kv.get(["doc", "empty", "missing"]) == {
        "doc": '{"a": {"b": 1}}',
        "empty": "",
        "missing": None,
    }


async def test_kv_put_forms_metadata_and_delete(kv: KvNamespace) -> None:
    await kv.put("a", "1", metadata={"m": 1})
    await kv.put("b", "2", expirationTtl=60)
    await kv.put("c", "3", {"expirationTtl": 60})
    await kv.put("d", "4", None)
    found = await kv.getWithMetadata("a")
    assert found["value"] == "1" and found["metadata"] == {"m": 1}
    missing = await kv.get_with_metadata("nope")
    assert missing["value"] is None and missing["metadata"] is None
    await kv.delete("nope")  # deleting a missing key is fine
    await kv.delete("d")
    assert await kv.get("d") is None


async def test_kv_list_shapes(kv: KvNamespace) -> None:
    for key in ("user:1", "user:2", "other"):
        await kv.put(key, "v")
    everything = await kv.list()
    assert [k["name"] for k in everything["keys"]] == ["other", "user:1", "user:2"]
    assert everything["list_complete"] is True and "cursor" not in everything
    assert (await kv.list(None))["keys"] == everything["keys"]
    users = await kv.list({"prefix": "user:"})
    assert [k.name for k in users.keys] == ["user:1", "user:2"]
    page = await kv.list(prefix="user:", limit=1)
    assert page["list_complete"] is False and isinstance(page["cursor"], str)
    rest = await kv.list(prefix="user:", cursor=page["cursor"])
    assert [k["name"] for k in rest["keys"]] == ["user:2"]


async def test_kv_binding_is_not_iterable_and_has_no_len(kv: KvNamespace) -> None:
    with pytest.raises(TypeError, match=r"KvNamespace.*is not iterable"):
        iter(kv)
    with pytest.raises(TypeError, match=r"KvNamespace.*has no len"):
        len(kv)
    assert bool(kv) is True


def test_cloudflare_view_wraps_kv_and_keeps_vars() -> None:
    namespace = KVNamespace(open_store("memory://"), "ns")
    env = cloudflare_view(Env({"KV": namespace, "MESSAGE": "hi", "JSON": {"a": 1}}))
    assert isinstance(env.KV, KvNamespace) and env.KV is env.KV
    assert env.MESSAGE == "hi" and env["JSON"] == {"a": 1} and "KV" in env
    with pytest.raises(AttributeError, match="env has no binding 'NOPE'"):
        _ = env.NOPE


async def test_workers_env_at_module_top_level(tmp_path: Path) -> None:
    (tmp_path / "entry.py").write_text(
        "from workers import Response, WorkerEntrypoint, env, import_from_javascript\n"
        "cf = import_from_javascript('cloudflare:workers')\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def fetch(self, request):\n"
        "        return Response(env.MESSAGE + ' ' + cf.env.MESSAGE)\n"
    )
    async with WorkerClient(tmp_path / "entry.py", vars={"MESSAGE": "top"}) as client:
        assert (await client.get("/")).text == "top top"
