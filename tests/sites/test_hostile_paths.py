""">= 1,000 generated hostile paths (reliability.md §6.1 B1-B3): nothing outside the
manifest is ever served, nothing is a 500, no redirect leaves the origin."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from pathlib import Path

from kv import KVNamespace
from sites import AssetHandler, current_manifest, deploy
from tests.sites.conftest import call

SECRET = b"TOP-SECRET-VALUE"

FRAGMENTS = [
    "..",
    ".",
    "%2e%2e",
    "%2E%2E",
    ".%2e",
    "%2e.",
    "%252e%252e",
    "%25252e",
    "..%2f",
    "..%5c",
    "%2f",
    "%5c",
    "\\",
    "%00",
    "a%00b",
    "%c0%ae%c0%ae",
    "%c0%af",
    "%e0%80%ae",
    "%c1%9c",
    "%ef%bc%8e%ef%bc%8e",
    "%ef%bc%8f",
    "．．",
    "‥",
    "%e2%80%a5",
    "..;",
    "....",
    "%",
    "%zz",
    "%e0%a4%a",
    "%a0",
    "c:%5cwindows",
    "C:",
    "CON",
    "nul",
    "%0d%0aSet-Cookie:%20x=1",
    "\r\n",
    "%09",
    "a" * 300,
    "__edgeworks",
    "manifest",
    "current",
    "v1",
    "secret",
    "etc",
    "passwd",
    "index.html",
    "about",
    "%u002e%u002e",
    "0x2e0x2e",
    "%%32%65",
    "~",
    "?",
    "#",
    ";",
    "%3f",
    "%23",
]
TARGETS = [
    "secret",
    "etc/passwd",
    "__edgeworks/manifest/current",
    "__edgeworks/manifest/v1",
    "index.html",
    "windows/win.ini",
    "",
]


def _paths(rng: random.Random) -> list[bytes]:
    paths: set[str] = set()
    for a, b in itertools.product(FRAGMENTS, TARGETS):
        paths.add(f"/{a}/{b}")
        paths.add(f"/{a}{b}")
    for a, b in itertools.product(FRAGMENTS, repeat=2):
        paths.add(f"/{a}/{b}/secret")
    for _ in range(500):
        depth = rng.randint(1, 6)
        paths.add("/" + "/".join(rng.choice(FRAGMENTS) for _ in range(depth)))
    paths.update(
        [
            "//evil.example/%2e%2e",
            "/\\evil.example/%2e%2e%2f",
            "//evil.example",
            "///evil.example/",
            "/\\\\host\\share",
            "/" + "a/" * 3000,
            "/" + "%2e%2e/" * 500 + "secret",
            "/" + "é" * 5000,
        ]
    )
    raw = [p.encode("utf-8") for p in paths]
    raw += [b"/\xc0\xae\xc0\xae/secret", b"/\xff\xfe", b"/%ff%fe%fd", b"/" + b"\x80" * 10]
    return raw


async def test_hostile_paths_never_escape_or_fail(
    bucket: Callable[..., Path], ns: KVNamespace
) -> None:
    files = {
        "index.html": "<h1>home</h1>",
        "about.html": "about",
        "blog/index.html": "blog",
        "404.html": "not found page",
        "docs/a.txt": "a",
        ".well-known/security.txt": "contact",
        "_redirects": "/go/* /:splat 302\n/r/* /about 301\n",
    }
    await deploy(bucket(files), ns)
    # Things that must never be served: a key in the same namespace, one in another
    # namespace, and the reserved manifest keys.
    await ns.put("secret", SECRET)
    await KVNamespace(ns.store, "other").put("secret", SECRET)
    manifest = await current_manifest(ns)
    assert manifest is not None
    allowed = {(await ns.get(e.key, "bytes")) for e in manifest.files.values()}
    handler = AssetHandler(ns)

    paths = _paths(random.Random(1234))
    assert len(paths) >= 1000
    statuses: dict[int, int] = {}
    for raw in paths:
        for prefix in (b"", b"/go", b"/r"):
            reply = await call(handler, prefix + raw)
            statuses[reply.status] = statuses.get(reply.status, 0) + 1
            assert reply.status < 500, raw
            assert SECRET not in reply.body, raw
            if reply.body:
                assert reply.body in allowed, raw
            assert b"version" not in reply.body  # never a manifest or the pointer
            for name, value in reply.header_list:
                assert "\r" not in value and "\n" not in value, raw
                assert name != "set-cookie", raw
            location = reply.headers.get("location")
            if location is not None:
                assert location.startswith("/") and not location.startswith(("//", "/\\")), (
                    raw,
                    location,
                )
    assert statuses.get(400, 0) > 50 and statuses.get(404, 0) > 500
