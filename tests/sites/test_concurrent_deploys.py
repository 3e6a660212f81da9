"""Five ``edgeworks sites deploy`` processes of one site at once, each with a different
tree (``keep = 1``, the setting that lost 2,000 of 4,000 files before deploys were
coordinated): every deploy succeeds with its own version, and every file of the
live manifest then answers 200 from a real ``edgeworks serve``."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from kv import KVNamespace, open_store
from runtime.config import load_config
from sites import current_manifest
from tests.support import Proc, edgeworks, free_port

DEPLOYS = 5
FILES_PER_TREE = 40


def _tree(root: Path, n: int) -> Path:
    tree = root / f"tree{n}"
    (tree / "css").mkdir(parents=True)
    (tree / "index.html").write_text(f"<h1>tree {n}</h1>")
    (tree / "css" / "site.css").write_text(f"body {{ --tree: {n}; }}")
    for i in range(FILES_PER_TREE):
        # The same names in every tree, different bytes: different hashed keys, so one
        # deploy's cleanup would delete what another's live manifest needs.
        (tree / f"page{i}.txt").write_text(f"tree {n} file {i}")
    (tree / f"only-in-{n}.txt").write_text(str(n))
    return tree


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_concurrent_deploys_of_one_site_leave_every_live_file_served(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store_url = (
        f"sqlite:///{tmp_path}/kv.sqlite3"
        if kind == "sqlite"
        else request.getfixturevalue("redis_url")
    )
    config_path = tmp_path / "edgeworks.toml"
    config_path.write_text(
        f'name = "race"\n[site]\nbucket = "tree0"\nkeep = 1\n[kv]\nstore = "{store_url}"\n'
    )
    trees = [_tree(tmp_path, n) for n in range(DEPLOYS)]
    procs: list[Proc] = [
        edgeworks("sites", "deploy", str(tree), "--config", str(config_path)) for tree in trees
    ]
    versions = []
    for proc in procs:
        assert proc.wait(timeout=90) == 0, proc.output
        found = re.search(r"version (\d+)$", proc.output.strip())
        assert found, proc.output
        versions.append(int(found.group(1)))
    assert len(set(versions)) == DEPLOYS, versions  # versions never repeat

    config = load_config(str(config_path))

    async def live_paths() -> list[str]:
        async with open_store(store_url) as store:
            manifest = await current_manifest(KVNamespace(store, config.site_namespace_id))
        assert manifest is not None and manifest.version == max(versions)
        return sorted(manifest.files)

    paths = asyncio.run(live_paths())
    assert len(paths) == FILES_PER_TREE + 3

    port = free_port()
    server = edgeworks("serve", "--config", str(config_path), "--port", str(port))
    try:
        server.wait_for("Listening on")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            statuses = {
                path: client.get("/" if path == "index.html" else f"/{path}").status_code
                for path in paths
            }
    finally:
        server.stop()
    assert {p: s for p, s in statuses.items() if s != 200} == {}
