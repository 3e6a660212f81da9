"""Walking a bucket: skip rules, patterns, .assetsignore, symlinks, names (reliability B4/B14)."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from sites import limits
from sites._mime import content_type
from sites._walk import hash_files, hashed_key, walk_bucket
from sites.deploy import HashCache

Make = Callable[..., Path]


def _paths(root: Path, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> list[str]:
    files, offenders = walk_bucket(root, include, exclude)
    assert offenders == []
    return [f.path for f in files]


def test_walk_skips_always_skipped_names(bucket: Make) -> None:
    root = bucket(
        {
            "index.html": "x",
            ".git/config": "x",
            ".edgeworks/state": "x",
            "__pycache__/m.pyc": "x",
            "node_modules/a/index.js": "x",
            "sub/node_modules/b.js": "x",
            ".env": "SECRET=1",
            ".dev.vars": "SECRET=1",
            "sub/.hidden": "x",
            ".well-known/security.txt": "x",
            "_headers": "/*\n  X: y\n",
            "_redirects": "/a /b\n",
            ".assetsignore": "",
        }
    )
    assert _paths(root) == [".well-known/security.txt", "index.html"]


def test_walk_include_exclude_and_assetsignore(bucket: Make) -> None:
    root = bucket(
        {
            "index.html": "x",
            "drafts/a.html": "x",
            "notes.md": "x",
            "keep.md": "x",
            "img/a.png": "x",
            "img/raw/b.psd": "x",
            ".assetsignore": "# comment\n*.psd\n",
        }
    )
    assert _paths(root) == ["drafts/a.html", "img/a.png", "index.html", "keep.md", "notes.md"]
    assert _paths(root, exclude=("drafts/", "*.md", "!keep.md")) == [
        "img/a.png",
        "index.html",
        "keep.md",
    ]
    assert _paths(root, include=("*.html",)) == ["drafts/a.html", "index.html"]
    assert _paths(root, include=("img/",), exclude=("*.png",)) == []


def test_walk_symlinks_inside_followed_outside_refused(tmp_path: Path, bucket: Make) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    root = bucket({"index.html": "x", "real/a.txt": "a"})
    os.symlink(root / "real" / "a.txt", root / "alias.txt")
    os.symlink(root / "real", root / "linked")
    os.symlink(secret, root / "leak.txt")
    os.symlink("/etc/passwd", root / "passwd")
    os.symlink(tmp_path, root / "up")
    os.symlink(root / "nowhere", root / "broken")
    os.symlink(root, root / "real" / "loop")
    files, offenders = walk_bucket(root)
    text = "\n".join(offenders)
    for name in ("leak.txt", "passwd", "up", "broken", "real/loop", "linked/loop"):
        assert name in text
    assert "points outside the bucket" in text and "broken symlink" in text
    assert len(offenders) == 6
    assert all("top secret" not in f.path for f in files)
    assert [f.path for f in files] == ["alias.txt", "index.html", "linked/a.txt", "real/a.txt"]


def test_walk_refuses_bad_names_and_nfc_collisions(bucket: Make) -> None:
    nfd = unicodedata.normalize("NFD", "café.html")
    root = bucket({"ok.html": "x", "new\nline.html": "x", "back\\slash.html": "x", nfd: "nfd"})
    files, offenders = walk_bucket(root)
    assert len(offenders) == 2
    assert [f.path for f in files] == ["café.html", "ok.html"]  # NFD name stored as NFC
    (root / "café.html").write_text("nfc")
    _, offenders = walk_bucket(root)
    assert any("NFC" in o for o in offenders)


def test_walk_oversize_file_is_an_offender(bucket: Make) -> None:
    root = bucket({"index.html": "x"})
    with open(root / "big.bin", "wb") as fh:
        fh.truncate(limits.MAX_ASSET_BYTES + 1)
    with open(root / "exact.bin", "wb") as fh:
        fh.truncate(limits.MAX_ASSET_BYTES)
    files, offenders = walk_bucket(root)
    assert [f.path for f in files] == ["exact.bin", "index.html"]
    assert offenders == [
        f"big.bin: {limits.MAX_ASSET_BYTES + 1} bytes is over the {limits.MAX_ASSET_BYTES} byte (25 MiB) limit per file"
    ]


def test_hash_cache_skips_rehash_until_file_changes(bucket: Make) -> None:
    root = bucket({"a.txt": "one", "b.txt": "two"})
    cache = HashCache()
    files, _ = walk_bucket(root)
    first, _ = hash_files(files, cache)
    assert len(cache) == 2
    calls: list[int] = []
    again, _ = hash_files(files, cache, calls.append)
    assert again == first and calls == [2]  # both from the cache, reported at once
    (root / "a.txt").write_text("changed!")
    files, _ = walk_bucket(root)
    changed, _ = hash_files(files, cache)
    assert changed["a.txt"] != first["a.txt"] and changed["b.txt"] == first["b.txt"]


def test_hashed_key_shapes() -> None:
    digest = "0123456789abcdef"
    assert hashed_key("index.html", digest) == "index.0123456789.html"
    assert hashed_key("css/site.css", digest) == "css/site.0123456789.css"
    assert hashed_key("LICENSE", digest) == "LICENSE.0123456789"
    assert hashed_key("a/b.tar.gz", digest) == "a/b.tar.0123456789.gz"
    assert hashed_key(".well-known/x", digest) == ".well-known/x.0123456789"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.html", "text/html; charset=utf-8"),
        ("a.css", "text/css; charset=utf-8"),
        ("a.js", "text/javascript; charset=utf-8"),
        ("a.mjs", "text/javascript; charset=utf-8"),
        ("a.json", "application/json"),
        ("a.wasm", "application/wasm"),
        ("a.png", "image/png"),
        ("a.svg", "image/svg+xml"),
        ("a.woff2", "font/woff2"),
        ("A.PNG", "image/png"),
        ("a.xyz", "application/octet-stream"),
        ("LICENSE", "application/octet-stream"),
        ("a.tar.gz", "application/gzip"),
    ],
)
def test_content_type_pinned_table(name: str, expected: str) -> None:
    assert content_type(name) == expected


def test_content_type_ignores_host_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    import mimetypes

    from sites import _mime

    # A host whose tables say .js is text/plain (Windows registry, odd /etc/mime.types).
    monkeypatch.setitem(mimetypes.types_map, ".js", "text/plain")
    monkeypatch.setattr(mimetypes, "guess_type", lambda *a, **k: ("text/plain", None))
    _mime._table.cache_clear()
    try:
        assert content_type("app.js") == "text/javascript; charset=utf-8"
    finally:
        _mime._table.cache_clear()
