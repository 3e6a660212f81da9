"""What users read points to what users have: docs/ pages, never internal design notes."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import REPO_ROOT

# Shipped code, its templates, the docs and the benchmarks: everything a user can open.
SHIPPED = ["cli.py", "runtime", "kv", "queues", "sites", "workers", "docs", "bench", "examples"]
SUFFIXES = {".py", ".md", ".toml", ".html", ".js", ".css", ".sh", ".txt", ".jsonc", ".json"}
INTERNAL = re.compile(r"spec/[\w-]+\.md|\(H\d+\b|\bH\d+:")


def _shipped_files() -> list[Path]:
    files: list[Path] = []
    for name in SHIPPED:
        path = REPO_ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES]
    files.append(REPO_ROOT / "README.md")
    return files


def test_shipped_text_names_no_internal_design_notes_or_labels() -> None:
    files = _shipped_files()
    assert len(files) > 50  # the walk found the tree
    found = [
        f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if INTERNAL.search(line)
    ]
    assert found == [], "point to docs/ instead:\n" + "\n".join(found)


def test_docs_links_between_pages_resolve() -> None:
    docs = REPO_ROOT / "docs"
    broken = [
        f"{page.name} -> {target}"
        for page in docs.glob("*.md")
        for target in re.findall(r"\]\(([\w./-]+\.md)(?:#[\w-]*)?\)", page.read_text())
        if not (page.parent / target).is_file()
    ]
    assert broken == []
