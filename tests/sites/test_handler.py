"""AssetHandler end to end over a memory store (docs/sites.md, "Serving")."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kv import EdgeCache, KVNamespace
from runtime.testing import FakeClock
from sites import AssetHandler, current_manifest, deploy, limits
from tests.sites.conftest import call

Served = Callable[..., Awaitable[AssetHandler]]

BODY = bytes(range(256)) * 4  # 1024 bytes
SITE: dict[str, str | bytes] = {
    "index.html": "<h1>home</h1>",
    "about.html": "<h1>about</h1>",
    "blog/index.html": "<h1>blog</h1>",
    "404.html": "root 404",
    "docs/404.html": "docs 404",
    "docs/guide.html": "guide",
    "data.bin": BODY,
    "app.js": "console.log(1)",
    "data.json": "{}",
    "file.xyz": "?",
    "LICENSE": "MIT",
}


@pytest.fixture
def served(bucket: Callable[..., Path], ns: KVNamespace) -> Served:
    async def make(
        files: dict[str, str | bytes] | None = None,
        handler_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> AssetHandler:
        await deploy(bucket(files or SITE), ns, **options)
        return AssetHandler(ns, **(handler_options or {}))

    return make


async def _etag(handler: AssetHandler, path: str) -> str:
    return (await call(handler, path)).headers["etag"]


async def test_serve_headers_on_200(served: Served) -> None:
    handler = await served()
    reply = await call(handler, "/data.bin")
    assert reply.status == 200 and reply.body == BODY
    h = reply.headers
    assert h["content-type"] == "application/octet-stream"
    assert h["content-length"] == "1024"
    assert h["accept-ranges"] == "bytes"
    assert h["x-content-type-options"] == "nosniff"
    assert h["cache-control"] == limits.DEFAULT_CACHE_CONTROL
    assert h["etag"].startswith('"') and h["etag"].endswith('"') and len(h["etag"]) == 34
    assert "last-modified" not in h


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/data.json", "application/json"),
        ("/file.xyz", "application/octet-stream"),
        ("/LICENSE", "application/octet-stream"),
    ],
)
async def test_serve_content_types(served: Served, path: str, content_type: str) -> None:
    handler = await served()
    assert (await call(handler, path)).headers["content-type"] == content_type


async def test_serve_head_has_get_headers_without_body(served: Served) -> None:
    handler = await served()
    get = await call(handler, "/data.bin")
    head = await call(handler, "/data.bin", method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers == get.headers


@pytest.mark.parametrize("form", ['"{}"', 'W/"{}"', '"nope", "{}"', 'W/"x",W/"{}"', "*"])
async def test_serve_if_none_match_304(served: Served, form: str) -> None:
    handler = await served()
    full = await call(handler, "/data.bin")
    etag = full.headers["etag"].strip('"')
    reply = await call(handler, "/data.bin", headers={"If-None-Match": form.format(etag)})
    assert reply.status == 304 and reply.body == b""
    for name in ("etag", "cache-control", "content-type", "x-content-type-options"):
        assert reply.headers[name] == full.headers[name]
    head = await call(
        handler, "/data.bin", method="HEAD", headers={"If-None-Match": form.format(etag)}
    )
    assert head.status == 304


@pytest.mark.parametrize("form", ['"other"', "unquoted", '"{}', "x" * 10_000])
async def test_serve_if_none_match_mismatch_or_malformed_200(served: Served, form: str) -> None:
    handler = await served()
    etag = (await _etag(handler, "/data.bin")).strip('"')
    reply = await call(handler, "/data.bin", headers={"If-None-Match": form.replace("{}", etag)})
    assert reply.status == 200 and reply.body == BODY


async def test_serve_if_modified_since_ignored(served: Served) -> None:
    handler = await served()
    reply = await call(
        handler, "/data.bin", headers={"If-Modified-Since": "Wed, 21 Oct 2099 07:28:00 GMT"}
    )
    assert reply.status == 200


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=1000-", 1000, 1023),
        ("bytes=-24", 1000, 1023),
        ("bytes=10-5000", 10, 1023),
    ],
)
async def test_serve_range_206(served: Served, header: str, start: int, end: int) -> None:
    handler = await served()
    reply = await call(handler, "/data.bin", headers={"Range": header})
    assert reply.status == 206
    assert reply.body == BODY[start : end + 1]
    assert reply.headers["content-range"] == f"bytes {start}-{end}/1024"
    assert reply.headers["content-length"] == str(end - start + 1)
    head = await call(handler, "/data.bin", method="HEAD", headers={"Range": header})
    assert (
        head.status == 206
        and head.body == b""
        and head.headers["content-range"] == reply.headers["content-range"]
    )


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
async def test_serve_range_unsatisfiable_416(served: Served, header: str) -> None:
    handler = await served()
    reply = await call(handler, "/data.bin", headers={"Range": header})
    assert reply.status == 416 and reply.body == b""
    assert reply.headers["content-range"] == "bytes */1024"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-1,5-6",
        "bytes=5-1",
        "items=0-1",
        "bytes=x-y",
        "bytes",
        ",".join(["bytes=0-0"] * 5000),
    ],
)
async def test_serve_range_multi_or_malformed_full_200(served: Served, header: str) -> None:
    handler = await served()
    reply = await call(handler, "/data.bin", headers={"Range": header})
    assert reply.status == 200 and reply.body == BODY


async def test_serve_if_range(served: Served) -> None:
    handler = await served()
    etag = await _etag(handler, "/data.bin")
    match = await call(handler, "/data.bin", headers={"Range": "bytes=0-1", "If-Range": etag})
    assert match.status == 206
    stale = await call(handler, "/data.bin", headers={"Range": "bytes=0-1", "If-Range": '"old"'})
    assert stale.status == 200 and stale.body == BODY
    weak = await call(handler, "/data.bin", headers={"Range": "bytes=0-1", "If-Range": "W/" + etag})
    assert weak.status == 200
    date = await call(
        handler,
        "/data.bin",
        headers={"Range": "bytes=0-1", "If-Range": "Wed, 21 Oct 2015 07:28:00 GMT"},
    )
    assert date.status == 200


async def test_serve_conditional_beats_range(served: Served) -> None:
    handler = await served()
    etag = await _etag(handler, "/data.bin")
    reply = await call(handler, "/data.bin", headers={"Range": "bytes=0-1", "If-None-Match": etag})
    assert reply.status == 304


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_serve_methods(served: Served, method: str) -> None:
    handler = await served()
    for path in ("/data.bin", "/about", "/about.html", "/blog"):
        reply = await call(handler, path, method=method)
        assert reply.status == 405, path
        assert reply.headers["allow"] == "GET, HEAD"
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.body == b""
    for path in ("/missing", "/docs/missing"):
        reply = await call(handler, path, method=method)
        assert reply.status == 404 and reply.body == b"" and "allow" not in reply.headers


async def test_serve_html_handling_redirect_keeps_query_and_is_relative(served: Served) -> None:
    handler = await served()
    reply = await call(handler, "/about.html", query=b"a=1&b=%20")
    assert reply.status == 307 and reply.headers["location"] == "/about?a=1&b=%20"
    reply = await call(handler, "/blog")
    assert reply.status == 307 and reply.headers["location"] == "/blog/"


async def test_serve_404_page_nearest_and_status(served: Served) -> None:
    handler = await served()
    docs = await call(handler, "/docs/a/b/missing")
    assert (docs.status, docs.body) == (404, b"docs 404")
    assert docs.headers["content-type"] == "text/html; charset=utf-8"
    assert "etag" not in docs.headers
    root = await call(handler, "/nothing/here.png")
    assert (root.status, root.body) == (404, b"root 404")
    etag_like = await call(
        handler, "/nothing", headers={"If-None-Match": "*", "Range": "bytes=0-1"}
    )
    assert etag_like.status == 404 and etag_like.body == b"root 404"


async def test_serve_not_found_none(served: Served) -> None:
    handler = await served(not_found_handling="none")
    reply = await call(handler, "/nothing")
    assert (reply.status, reply.body) == (404, b"")


async def test_serve_spa_navigation_only(served: Served) -> None:
    handler = await served(not_found_handling="single-page-application")
    home = (await call(handler, "/")).body
    nav = await call(handler, "/app/route/1", headers={"Accept": "text/html,application/xhtml+xml"})
    assert (nav.status, nav.body) == (200, home)
    fetch_nav = await call(handler, "/app/route/1", headers={"Sec-Fetch-Mode": "navigate"})
    assert fetch_nav.status == 200
    api = await call(handler, "/app/route/1", headers={"Accept": "application/json"})
    assert api.status == 404
    asset = await call(handler, "/assets/missing.css", headers={"Accept": "text/html"})
    assert asset.status == 404
    post = await call(handler, "/app/route/1", method="POST", headers={"Accept": "text/html"})
    assert post.status == 404
    real = await call(handler, "/about", headers={"Accept": "text/html"})
    assert real.body == b"<h1>about</h1>"


async def test_serve_handler_overrides_manifest_options(served: Served) -> None:
    handler = await served(handler_options={"html_handling": "none", "cache_control": "no-store"})
    assert (await call(handler, "/about")).status == 404
    reply = await call(handler, "/about.html")
    assert reply.status == 200 and reply.headers["cache-control"] == "no-store"
    with pytest.raises(ValueError, match="html_handling must be one of"):
        AssetHandler(handler.namespace, html_handling="bogus")


async def test_serve_options_recorded_at_deploy(served: Served) -> None:
    handler = await served(html_handling="drop-trailing-slash", cache_control="public, max-age=60")
    reply = await call(handler, "/blog/")
    assert reply.status == 307 and reply.headers["location"] == "/blog"
    assert (await call(handler, "/blog")).headers["cache-control"] == "public, max-age=60"


async def test_serve_redirects_and_rewrites(served: Served) -> None:
    files = {
        **SITE,
        "_redirects": (
            "/old /about 301\n/ext https://example.com/x\n/docs/* /documentation/:splat 308\n"
            "/app/* /about.html 200\n/open/* /:splat\n/q /about?x=1\n"
        ),
    }
    handler = await served(files)
    old = await call(handler, "/old", query=b"a=1")
    assert (old.status, old.headers["location"]) == (301, "/about?a=1")
    ext = await call(handler, "/ext")
    assert (ext.status, ext.headers["location"]) == (302, "https://example.com/x")
    docs = await call(handler, "/docs/a/b")
    assert (docs.status, docs.headers["location"]) == (308, "/documentation/a/b")
    rewrite = await call(handler, "/app/anything")
    assert (rewrite.status, rewrite.body) == (200, b"<h1>about</h1>")  # no html_handling redirect
    q = await call(handler, "/q", query=b"a=1")
    assert q.headers["location"] == "/about?x=1"
    for evil in ("/open//evil.example", "/open/%2fevil.example", "/open/\\evil.example"):
        reply = await call(handler, evil)
        location = reply.headers.get("location", "/")
        assert location.startswith("/") and not location.startswith(("//", "/\\")), evil


async def test_serve_headers_rules_apply_to_every_response(served: Served) -> None:
    files = {
        **SITE,
        "_headers": "/*\n  X-Frame-Options: DENY\n/data.bin\n  Cache-Control: public, max-age=31536000, immutable\n  ! X-Content-Type-Options\n",
    }
    handler = await served(files)
    asset = await call(handler, "/data.bin")
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["x-frame-options"] == "DENY"
    assert "x-content-type-options" not in asset.headers
    assert (await call(handler, "/missing")).headers["x-frame-options"] == "DENY"
    assert (await call(handler, "/about.html")).headers["x-frame-options"] == "DENY"
    assert (await call(handler, "/data.bin", method="POST")).headers["x-frame-options"] == "DENY"
    not_modified = await call(handler, "/data.bin", headers={"If-None-Match": "*"})
    assert not_modified.headers["cache-control"].endswith("immutable")


async def test_serve_bad_paths(served: Served) -> None:
    handler = await served()
    assert (await call(handler, "/%E0%A4%A")).status == 400
    assert (await call(handler, "/a%00b")).status == 404
    assert (await call(handler, "/" + "a" * (limits.MAX_REQUEST_PATH_BYTES + 1))).status == 414
    assert (await call(handler, "/" + "a" * 600)).status == 404
    assert (await call(handler, "//about")).status == 200
    assert (await call(handler, "/blog//index.html")).status == 307


async def test_serve_asset_missing_from_kv_is_404_and_logged(
    served: Served, ns: KVNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    handler = await served()
    manifest = await current_manifest(ns)
    assert manifest is not None
    manifest_key = manifest.files["data.bin"].key
    await ns.delete(manifest_key)
    with caplog.at_level(logging.WARNING, logger="edgeworks.sites"):
        reply = await call(handler, "/data.bin")
    assert reply.status == 404
    assert manifest_key in caplog.text and "missing from KV" in caplog.text


async def test_serve_before_any_deploy_is_404(ns: KVNamespace) -> None:
    handler = AssetHandler(ns)
    reply = await call(handler, "/")
    assert reply.status == 404 and handler.version is None


async def test_serve_hot_assets_skip_kv(
    served: Served, ns: KVNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = await served()
    await call(handler, "/data.bin")
    assert handler.hot_bytes >= len(BODY)
    reads: list[str] = []
    original = ns.get

    async def counting_get(key: Any, *args: Any, **kwargs: Any) -> Any:
        reads.append(key)
        return await original(key, *args, **kwargs)

    monkeypatch.setattr(ns, "get", counting_get)
    for _ in range(3):
        assert (await call(handler, "/data.bin")).body == BODY
    assert reads == []


async def test_serve_hot_budget_evicts(served: Served) -> None:
    handler = await served(handler_options={"hot_bytes": 1500})
    for path in ("/data.bin", "/about", "/", "/app.js"):
        await call(handler, path)
    assert handler.hot_bytes <= 1500


async def test_serve_pointer_reread_every_interval(
    bucket: Callable[..., Path], store: Any, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process deploys: this process only learns it by re-reading the pointer.
    monkeypatch.setattr("sites.handler.deploy_generation", lambda: 0)
    location = KVNamespace(store, "site", cache=EdgeCache())  # this location's cached view
    deployer = KVNamespace(store, "site")
    root = bucket({"index.html": "v1"})
    await deploy(root, deployer)
    handler = AssetHandler(location, clock=clock)
    assert (await call(handler, "/")).body == b"v1"
    (root / "index.html").write_text("v2")
    await deploy(root, deployer)
    clock.advance(limits.MANIFEST_REFRESH_SECONDS - 0.1)
    assert (await call(handler, "/")).body == b"v1"
    clock.advance(0.2)
    await call(handler, "/")  # starts the re-read; serves whichever is current
    assert (await call(handler, "/")).body == b"v2"
    assert handler.version == 2


async def test_serve_same_process_deploy_is_live_at_once(
    bucket: Callable[..., Path], ns: KVNamespace, clock: FakeClock
) -> None:
    root = bucket({"index.html": "v1"})
    await deploy(root, ns)
    handler = AssetHandler(ns, clock=clock)
    assert (await call(handler, "/")).body == b"v1"
    (root / "index.html").write_text("v2")
    await deploy(root, ns)
    await call(handler, "/")
    assert (await call(handler, "/")).body == b"v2"


async def test_serve_grace_for_removed_subresources_not_pages(
    bucket: Callable[..., Path], ns: KVNamespace
) -> None:
    root = bucket({"index.html": "home", "old.css": "css", "old.html": "page"})
    await deploy(root, ns)
    (root / "old.css").unlink()
    (root / "old.html").unlink()
    await deploy(root, ns)
    handler = AssetHandler(ns)
    assert (await call(handler, "/old.css")).body == b"css"
    assert (await call(handler, "/old.html")).status == 404
    (root / "index.html").write_text("home 3")
    await deploy(root, ns)
    handler = AssetHandler(ns)
    assert (await call(handler, "/old.css")).status == 404


async def test_serve_awkward_file_names_round_trip(served: Served) -> None:
    names = [
        'a"b.html',
        "sp ace.txt",
        "q?.txt",
        "hash#.txt",
        "per%cent.txt",
        "café.html",
        "[boop].txt",
    ]
    handler = await served({name: name for name in names}, not_found_handling="none")
    from urllib.parse import quote

    for name in names:
        reply = await call(handler, "/" + quote(name))
        if reply.status == 307:  # *.html -> the pretty URL, re-encoded
            location = reply.headers["location"]
            assert location == "/" + quote(name.removesuffix(".html"), safe="-._~!$&'()*+,;=:@")
            reply = await call(handler, location)
        assert (reply.status, reply.body) == (200, name.encode()), name
        assert all("\r" not in v and "\n" not in v for _, v in reply.header_list)


async def test_serve_store_failure_keeps_serving_known_manifest(
    bucket: Callable[..., Path], spy: Any, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    from kv import KVError, StoreUnavailable

    ns = KVNamespace(spy, "site")
    await deploy(bucket({"index.html": "v1"}), ns)
    handler = AssetHandler(ns, clock=clock)
    assert (await call(handler, "/")).body == b"v1"

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("connection refused")

    spy.get = down  # the pointer read fails from now on
    clock.advance(limits.MANIFEST_REFRESH_SECONDS + 1)
    with caplog.at_level(logging.WARNING, logger="edgeworks.sites"):
        reply = await call(handler, "/")
    assert (reply.status, reply.body) == (200, b"v1")  # hot asset, last known manifest
    assert "cannot read the site manifest" in caplog.text
    fresh = AssetHandler(ns, clock=clock)
    with pytest.raises(KVError) as info:
        await call(fresh, "/")
    assert info.value.status == 503


async def test_serve_nfc_and_nfd_request_forms_reach_one_asset(served: Served) -> None:
    import unicodedata
    from urllib.parse import quote

    nfd = unicodedata.normalize("NFD", "café.txt")
    handler = await served({nfd: "coffee"})
    for form in ("NFC", "NFD"):
        reply = await call(handler, "/" + quote(unicodedata.normalize(form, "café.txt")))
        assert (reply.status, reply.body) == (200, b"coffee"), form
