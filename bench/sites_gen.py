"""Seeded static-site generator for the sites benchmarks.

`generate(root, files=200, seed=42)` writes HTML/CSS/JS/PNG files between 1 KiB and
200 KiB (mean ~44 KiB) and returns the list of relative paths; `small=True` makes
them 512 B - 4 KiB (a request-bound variant).
"""

from __future__ import annotations

import random
from pathlib import Path

KIB = 1024
MIN_SIZE, MAX_SIZE = 1 * KIB, 200 * KIB
WORDS = [
    "edge",
    "worker",
    "static",
    "asset",
    "cache",
    "manifest",
    "hash",
    "deploy",
    "version",
    "route",
    "header",
    "range",
]
KINDS = [("html", 0.2), ("css", 0.2), ("js", 0.2), ("png", 0.4)]


def _size(rng: random.Random, small: bool = False) -> int:
    if small:  # request-bound variant: 512 B - 4 KiB
        return rng.randint(512, 4 * KIB)
    # log-normal, clipped: many small files, a tail of large ones (mean ~44 KiB)
    return max(MIN_SIZE, min(MAX_SIZE, int(rng.lognormvariate(10.3, 1.0))))


def _text(rng: random.Random, size: int, kind: str) -> bytes:
    head = {"html": "<!doctype html><html><body>\n", "css": "body{}\n", "js": "'use strict';\n"}[
        kind
    ]
    words = []
    total = len(head)
    while total < size:
        word = rng.choice(WORDS)
        words.append(word)
        total += len(word) + 1
    return (head + " ".join(words))[:size].encode()


def generate(root: Path, files: int = 200, seed: int = 42, small: bool = False) -> list[str]:
    rng = random.Random(seed)
    paths = []
    for i in range(files):
        kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
        folder = {"html": "pages", "css": "css", "js": "js", "png": "img"}[kind]
        sub = f"{folder}/{i % 50:02d}" if files > 1000 else folder
        rel = f"{sub}/f{i:05d}.{kind}"
        size = _size(rng, small)
        if kind == "png":
            data = b"\x89PNG\r\n\x1a\n" + rng.randbytes(size - 8)
        else:
            data = _text(rng, size, kind)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(rel)
    (root / "index.html").write_bytes(_text(rng, 4 * KIB, "html"))
    paths.append("index.html")
    return paths
