"""Atomic publish: clients loading a page and then its assets during a deploy see no 404;
after the switch the previous version's assets load until `keep` later deploys."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from kv import KVNamespace
from sites import AssetHandler, deploy, limits
from tests.sites.conftest import SpyStore, all_keys, call, write_files

LINK = re.compile(r'(?:href|src)="([^"]+)"')


def _site(version: int) -> dict[str, str | bytes]:
    """Each version has a page referencing assets; some assets appear or vanish per version."""
    assets = {
        f"css/v{version}.css": f"/* css {version} */",
        "js/app.js": f"console.log({version})",
        f"img/only-v{version}.png": bytes([version]) * 2048,
        "img/shared.png": b"shared" * 100,
    }
    refs = "".join(f'<link href="/{path}">' for path in assets)
    files = {"index.html": f"<h1>v{version}</h1>{refs}", **assets}
    files.update({f"filler/{i}.txt": f"{version}-{i}" for i in range(60)})  # many upload batches
    return files


async def _client(
    handler: AssetHandler, stop: asyncio.Event, seen: set[bytes], errors: list[str]
) -> None:
    while not stop.is_set():
        page = await call(handler, "/", headers={"Accept": "text/html"})
        if page.status != 200:
            errors.append(f"/ -> {page.status}")
        seen.add(page.body[:8])
        for ref in LINK.findall(page.body.decode()):
            await asyncio.sleep(0)  # the network: other clients and the deploy run meanwhile
            reply = await call(handler, ref)
            if reply.status != 200:
                errors.append(f"{ref} after {page.body[:8]!r} -> {reply.status}")
        await asyncio.sleep(0)


async def test_publish_concurrent_clients_see_no_404(
    spy: SpyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ns = KVNamespace(spy, "__app-workers_sites_assets")  # type: ignore[arg-type]
    root = write_files(tmp_path / "public", _site(1))
    await deploy(root, ns)

    # A location that re-reads the pointer on every request, to race the switch as hard as possible.
    handler = AssetHandler(ns, refresh_interval=0)

    async def slow_batch() -> None:
        await asyncio.sleep(0.002)  # let clients run between upload batches

    spy.before_write = slow_batch
    stop = asyncio.Event()
    seen: set[bytes] = set()
    errors: list[str] = []
    clients = [asyncio.create_task(_client(handler, stop, seen, errors)) for _ in range(8)]
    shutil.rmtree(root)
    write_files(root, _site(2))
    monkeypatch.setattr(limits, "UPLOAD_BATCH_KEYS", 5)
    result = await deploy(root, ns)
    for _ in range(20):
        await asyncio.sleep(0.001)
    stop.set()
    await asyncio.gather(*clients)
    assert result.version == 2 and len(spy.batches) > 10
    assert errors == []
    assert seen == {b"<h1>v1</", b"<h1>v2</"}  # clients really ran across the switch

    # After the switch a v1 page's assets still load (v1 is one of the last keep=2) ...
    assert (await call(handler, "/img/only-v1.png")).status == 200
    assert (await call(handler, "/css/v1.css")).status == 200
    # ... until `keep` later deploys.
    (root / "index.html").write_text("<h1>v3</h1>")
    await deploy(root, ns)
    assert (await call(handler, "/img/only-v1.png")).status == 404
    assert not any(k.startswith("img/only-v1.") for k in await all_keys(ns))
    assert (await call(handler, "/img/only-v2.png")).status == 200
