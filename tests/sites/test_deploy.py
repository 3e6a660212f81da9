"""sites.deploy: uploads, manifests, the pointer switch, cleanup, limits (docs/sites.md, "Deploying")."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from kv import KVNamespace
from sites import DeployError, current_manifest, deploy, limits
from sites.deploy import HashCache
from sites.manifest import deploy_generation
from tests.sites.conftest import SpyStore, all_keys

Make = Callable[..., Path]

SITE = {
    "index.html": "<h1>home</h1>",
    "about.html": "<h1>about</h1>",
    "css/site.css": "body { color: red }",
    "js/app.js": "console.log(1)",
    "img/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
}


def _asset_keys(keys: list[str]) -> list[str]:
    return [k for k in keys if not k.startswith(limits.RESERVED_PREFIX)]


async def test_deploy_first_uploads_everything(bucket: Make, ns: KVNamespace) -> None:
    result = await deploy(bucket(SITE), ns)
    assert (result.uploaded, result.unchanged, result.deleted, result.version) == (5, 0, 0, 1)
    assert result.summary() == "5 uploaded, 0 unchanged, 0 deleted, version 1"
    assert result.published
    manifest = await current_manifest(ns)
    assert manifest is not None and manifest.version == 1
    entry = manifest.files["css/site.css"]
    assert entry.key.startswith("css/site.") and entry.key.endswith(".css")
    assert entry.content_type == "text/css; charset=utf-8"
    assert entry.size == len(SITE["css/site.css"])
    assert await ns.get(entry.key) == SITE["css/site.css"]
    keys = await all_keys(ns)
    assert sorted(_asset_keys(keys)) == sorted(e.key for e in manifest.files.values())
    assert limits.MANIFEST_POINTER_KEY in keys and "__edgeworks/manifest/v1" in keys
    pointer = json.loads(await ns.get(limits.MANIFEST_POINTER_KEY))
    assert pointer == {"version": 1, "published": [1]}


async def test_deploy_unchanged_redeploy_writes_nothing(
    bucket: Make, spy: SpyStore, spy_ns: KVNamespace
) -> None:
    root = bucket(SITE)
    await deploy(root, spy_ns)
    writes = spy.writes
    result = await deploy(root, spy_ns)
    assert (result.uploaded, result.unchanged, result.deleted, result.version) == (0, 5, 0, 1)
    assert not result.published
    assert spy.writes == writes


async def test_deploy_changing_one_file_uploads_one(bucket: Make, ns: KVNamespace) -> None:
    root = bucket(SITE)
    first = await deploy(root, ns)
    (root / "css/site.css").write_text("body { color: blue }")
    result = await deploy(root, ns)
    assert (result.uploaded, result.unchanged, result.deleted, result.version) == (1, 4, 0, 2)
    changed = [c for c in result.changes if c.action == "+"]
    assert [c.path for c in changed] == ["css/site.css"]
    manifest = await current_manifest(ns)
    assert (
        manifest is not None
        and await ns.get(manifest.files["css/site.css"].key) == "body { color: blue }"
    )
    # the v1 copy is still there: v1 is one of the last keep=2 published versions
    old_key = next(c.key for c in first.changes if c.path == "css/site.css")
    assert await ns.get(old_key) == SITE["css/site.css"]


async def test_deploy_stale_assets_survive_keep_versions(bucket: Make, ns: KVNamespace) -> None:
    root = bucket(SITE)
    first = await deploy(root, ns)
    old_js = next(c.key for c in first.changes if c.path == "js/app.js")
    (root / "js/app.js").unlink()
    second = await deploy(root, ns)
    assert (second.uploaded, second.deleted) == (0, 0)
    manifest = await current_manifest(ns)
    assert manifest is not None and "js/app.js" not in manifest.files
    assert await ns.get(old_js) is not None  # still used by v1 (keep=2)
    (root / "about.html").write_text("<h1>about v3</h1>")
    third = await deploy(root, ns)
    assert third.deleted == 1  # app.js; the old about.html is still used by v2
    assert await ns.get(old_js) is None
    keys = await all_keys(ns)
    assert [k for k in keys if k.startswith(limits.MANIFEST_KEY_PREFIX)] == [
        "__edgeworks/manifest/v2",
        "__edgeworks/manifest/v3",
    ]
    assert json.loads(await ns.get(limits.MANIFEST_POINTER_KEY))["published"] == [3, 2, 1]


async def test_deploy_keep_one_deletes_at_once(bucket: Make, ns: KVNamespace) -> None:
    root = bucket(SITE)
    await deploy(root, ns, keep=1)
    (root / "js/app.js").unlink()
    result = await deploy(root, ns, keep=1)
    assert result.deleted == 1
    assert [c.key.startswith("js/app.") for c in result.changes if c.action == "-"] == [True]
    manifest = await current_manifest(ns)
    assert manifest is not None
    assert sorted(_asset_keys(await all_keys(ns))) == sorted(e.key for e in manifest.files.values())


async def test_deploy_oversize_file_refused_live_site_unchanged(
    bucket: Make, spy: SpyStore, spy_ns: KVNamespace
) -> None:
    root = bucket(SITE)
    await deploy(root, spy_ns)
    before = sorted(await all_keys(spy_ns))
    writes = spy.writes
    (root / "index.html").write_text("<h1>new home</h1>")
    with open(root / "video.mp4", "wb") as fh:
        fh.truncate(limits.MAX_ASSET_BYTES + 1)
    with pytest.raises(DeployError) as info:
        await deploy(root, spy_ns)
    message = str(info.value)
    assert "video.mp4" in message and str(limits.MAX_ASSET_BYTES) in message and "25 MiB" in message
    assert "live site is unchanged" in message
    assert spy.writes == writes
    assert sorted(await all_keys(spy_ns)) == before
    manifest = await current_manifest(spy_ns)
    assert manifest is not None and manifest.version == 1


async def test_deploy_key_over_512_bytes_refused(bucket: Make, ns: KVNamespace) -> None:
    deep = "/".join(["d" * 100] * 5) + "/page.html"
    root = bucket({"index.html": "x", deep: "deep"})
    with pytest.raises(DeployError) as info:
        await deploy(root, ns)
    assert "page.html" in str(info.value) and "512" in str(info.value)
    assert await all_keys(ns) == []


async def test_deploy_lists_every_offender(tmp_path: Path, bucket: Make, ns: KVNamespace) -> None:
    import os

    (tmp_path / "secret").write_text("s")
    root = bucket({"index.html": "x", "bad\nname.txt": "x"})
    os.symlink(tmp_path / "secret", root / "leak")
    with pytest.raises(DeployError) as info:
        await deploy(root, ns)
    assert len(info.value.offenders) == 2
    assert await all_keys(ns) == []


async def test_deploy_failed_upload_keeps_live_version(
    bucket: Make, spy: SpyStore, spy_ns: KVNamespace
) -> None:
    from kv import KVError

    root = bucket(SITE)
    await deploy(root, spy_ns)
    (root / "index.html").write_text("<h1>v2</h1>")
    spy.fail_batches = True
    with pytest.raises(KVError) as info:
        await deploy(root, spy_ns)
    assert info.value.status == 503
    spy.fail_batches = False
    manifest = await current_manifest(spy_ns)
    assert manifest is not None and manifest.version == 1
    result = await deploy(root, spy_ns)
    assert (result.uploaded, result.version) == (1, 2)


async def test_deploy_dry_run_writes_nothing(
    bucket: Make, spy: SpyStore, spy_ns: KVNamespace
) -> None:
    root = bucket(SITE)
    plan = await deploy(root, spy_ns, dry_run=True)
    assert plan.dry_run and (plan.uploaded, plan.version) == (5, 1)
    assert plan.summary().endswith("(dry run)")
    assert spy.writes == 0
    await deploy(root, spy_ns, keep=1)
    (root / "js/app.js").unlink()
    writes = spy.writes
    plan = await deploy(root, spy_ns, dry_run=True, keep=1)
    assert (plan.uploaded, plan.deleted, plan.version) == (0, 1, 2)
    assert spy.writes == writes


async def test_deploy_progress_and_changes(bucket: Make, ns: KVNamespace) -> None:
    events: list[tuple[str, int, int]] = []
    result = await deploy(bucket(SITE), ns, progress=lambda *e: events.append(e))
    assert events[0] == ("hash", 0, 5) and ("hash", 5, 5) in events
    assert ("upload", 0, 5) in events and events[-1] == ("upload", 5, 5)
    lines = [str(c) for c in result.changes]
    assert any(line.startswith("+ css/site.css (css/site.") for line in lines)


async def test_deploy_records_rules_and_warnings(bucket: Make, ns: KVNamespace) -> None:
    files = {**SITE, "_headers": "/*\n  X-A: b\nnonsense\n", "_redirects": "/a /b\n/bad\n"}
    result = await deploy(
        bucket(files), ns, html_handling="drop-trailing-slash", cache_control="no-cache"
    )
    assert result.warnings == [
        "_headers:3: expected `Name: value`; ignored",
        "_redirects:2: expected `from to [status]`, got 1 fields; ignored",
    ]
    manifest = await current_manifest(ns)
    assert manifest is not None
    assert manifest.headers == [{"path": "/*", "set": [["x-a", "b"]], "unset": []}]
    assert manifest.redirects["static"] == {"/a": ["/b", 302]}
    assert (manifest.html_handling, manifest.cache_control) == ("drop-trailing-slash", "no-cache")
    assert "_headers" not in manifest.files and "_redirects" not in manifest.files


async def test_deploy_option_change_publishes_new_version(bucket: Make, ns: KVNamespace) -> None:
    root = bucket(SITE)
    await deploy(root, ns)
    result = await deploy(root, ns, not_found_handling="single-page-application")
    assert (result.uploaded, result.version, result.published) == (0, 2, True)


async def test_deploy_rejects_bad_options(bucket: Make, ns: KVNamespace) -> None:
    root = bucket(SITE)
    with pytest.raises(DeployError, match="html_handling must be one of"):
        await deploy(root, ns, html_handling="sometimes")
    with pytest.raises(DeployError, match="not_found_handling must be one of"):
        await deploy(root, ns, not_found_handling="ignore")
    with pytest.raises(DeployError, match="keep must be an integer >= 1"):
        await deploy(root, ns, keep=0)
    with pytest.raises(DeployError, match="is not a directory"):
        await deploy(root / "missing", ns)


async def test_deploy_hash_cache_and_only_hint(bucket: Make, ns: KVNamespace) -> None:
    import os

    root = bucket(SITE)
    cache = HashCache()
    await deploy(root, ns, hash_cache=cache)
    assert len(cache) == 5
    # same size, same mtime: only the `only` hint makes the deploy notice the change
    path = root / "css/site.css"
    stat = path.stat()
    path.write_text("body { color: RED }")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    quiet = await deploy(root, ns, hash_cache=cache)
    assert quiet.uploaded == 0
    result = await deploy(root, ns, hash_cache=cache, only=[path])
    assert result.uploaded == 1


async def test_deploy_bumps_generation(bucket: Make, ns: KVNamespace) -> None:
    before = deploy_generation()
    await deploy(bucket(SITE), ns)
    assert deploy_generation() == before + 1


async def test_deploy_two_apps_do_not_share(bucket: Make, ns: KVNamespace) -> None:
    other = KVNamespace(ns.store, "__other-workers_sites_assets")
    await deploy(bucket(SITE), ns)
    await deploy(bucket({"index.html": "other"}, name="other"), other)
    mine, theirs = await current_manifest(ns), await current_manifest(other)
    assert mine is not None and theirs is not None
    assert len(mine.files) == 5 and list(theirs.files) == ["index.html"]


async def test_deploy_batches_uploads(bucket: Make, spy: SpyStore, spy_ns: KVNamespace) -> None:
    files = {f"f{i:03}.txt": f"file {i}" for i in range(250)}
    await deploy(bucket(files), spy_ns)
    assert sorted(len(b) for b in spy.batches) == [50, 100, 100]
