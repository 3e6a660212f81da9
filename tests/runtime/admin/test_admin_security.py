"""Who reaches the admin API in real servers: serve without a token has no admin
path; a wrong or missing token is 401 with no data; dev refuses foreign Host
headers and cross-origin writes and leaves the key unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kv import open_store
from runtime.admin.mount import build_admin, is_loopback
from runtime.config import load_config
from tests.support import Proc, edgeworks

SHORT = "/__edgeworks/api/storage/kv/namespaces"
V4 = "/__edgeworks/api/client/v4"
TOKEN = "correct-horse-battery"


def project(folder: Path) -> Path:
    (folder / "edgeworks.toml").write_text(
        'name = "sec"\nmain = "worker.py"\n[[kv_namespaces]]\nbinding = "DATA"\nid = "data"\n'
    )
    (folder / "worker.py").write_text(
        "from starlette.responses import Response\n"
        "async def handle_request(request, env):\n"
        "    return Response('worker saw ' + request.url.path, status_code=418)\n"
    )
    return folder


def started(proc: Proc) -> str:
    return proc.wait_for(r"Listening on (http://127\.0\.0\.1:\d+)").group(1)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return project(tmp_path)


def seed(folder: Path) -> str:
    """A secret value in the project's store; the store URL."""
    import asyncio

    from kv import KVNamespace

    url = f"sqlite:///{folder / 'kv.sqlite3'}"

    async def put() -> None:
        store = open_store(url)
        await KVNamespace(store, "data").put("secret", "private-value")
        await store.aclose()

    asyncio.run(put())
    return url


def test_serve_without_token_serves_no_admin_path(folder: Path) -> None:
    store = seed(folder)
    proc = edgeworks(
        "serve", "--port", "0", "--kv", store, cwd=folder, env={"EDGEWORKS_ADMIN_TOKEN": ""}
    )
    try:
        url = started(proc)
        assert "Admin API" not in proc.output
        for path in ("/__edgeworks/", f"{V4}/accounts", f"{SHORT}/data/values/secret"):
            r = httpx.get(url + path, headers={"authorization": f"Bearer {TOKEN}"})
            assert r.status_code == 404, path
            assert b"private" not in r.content and b"worker saw" not in r.content
        assert httpx.get(url + "/").status_code == 418  # the worker still serves
    finally:
        proc.stop()


def test_serve_with_token_requires_it(folder: Path) -> None:
    store = seed(folder)
    proc = edgeworks(
        "serve", "--port", "0", "--kv", store, cwd=folder, env={"EDGEWORKS_ADMIN_TOKEN": TOKEN}
    )
    try:
        url = started(proc)
        assert f"Admin API on {url}{V4}" in proc.output
        value = f"{url}{SHORT}/data/values/secret"
        for headers in (
            {},
            {"authorization": "Bearer wrong"},
            {"authorization": f"Bearer {TOKEN}x"},
        ):
            r = httpx.get(value, headers=headers)
            assert r.status_code == 401, headers
            assert r.json()["errors"][0]["code"] == 10000
            assert b"private" not in r.content
            r = httpx.put(value, content=b"overwritten", headers=headers)
            assert r.status_code == 401
        r = httpx.get(value, headers={"authorization": f"Bearer {TOKEN}"})
        assert (r.status_code, r.content) == (200, b"private-value")
    finally:
        proc.stop()


@pytest.fixture
def dev(folder: Path) -> Iterator[tuple[str, Path]]:
    seed(folder)
    proc = edgeworks("dev", "--port", "0", "--kv", f"sqlite:///{folder / 'kv.sqlite3'}", cwd=folder)
    try:
        yield started(proc), folder
    finally:
        proc.stop()


def test_dev_refuses_foreign_host_and_origin(dev: tuple[str, Path]) -> None:
    url, _ = dev
    value = f"{url}{SHORT}/data/values/secret"
    r = httpx.get(value, headers={"host": "attacker.example"})
    assert r.status_code == 403 and b"private" not in r.content
    r = httpx.put(value, content=b"pwned", headers={"host": "attacker.example"})
    assert r.status_code == 403
    r = httpx.put(value, content=b"pwned", headers={"origin": "http://attacker.example"})
    assert r.status_code == 403
    r = httpx.delete(value, headers={"origin": "null"})
    assert r.status_code == 403
    assert httpx.get(value).content == b"private-value"  # unchanged
    own = url.replace("http://", "")
    r = httpx.put(value, content=b"mine", headers={"origin": f"http://{own}"})
    assert r.status_code == 200 and httpx.get(value).content == b"mine"


def test_mount_policy(folder: Path) -> None:
    config = load_config(None, cwd=folder)
    store = open_store("memory://")
    assert build_admin(store, config, mode="serve", host="127.0.0.1", token=None) is None
    assert build_admin(store, config, mode="dev", host="0.0.0.0", token=None) is None
    local = build_admin(store, config, mode="dev", host="127.0.0.1", token=None)
    assert local is not None and local.guard.local_only and local.guard.token is None
    remote = build_admin(store, config, mode="dev", host="0.0.0.0", token=TOKEN)
    assert remote is not None and remote.guard.token == TOKEN and not remote.guard.local_only
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "10.1.2.3")] == [
        True,
        True,
        True,
        False,
        False,
    ]
