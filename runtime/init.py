"""``edgeworks init``: write a ready-to-run project from a template shipped in the package.

Templates live in ``runtime/templates/<name>/`` (package data) and are the same
projects as ``examples/<name>/`` in the repository (a test keeps them equal).
Text files may contain ``{{ name }}``, replaced by the project name (the
target folder's name unless given).

>>> written = init_project(Path("my-app"), template="counter")
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from runtime.limits import INIT_TEMPLATES

__all__ = ["NAME_PLACEHOLDER", "TEMPLATES", "init_project", "project_name", "render_template"]

#: The templates ``edgeworks init --template`` accepts; the first is the default.
TEMPLATES = INIT_TEMPLATES
NAME_PLACEHOLDER = "{{ name }}"
#: Never copied from a template folder (caches left by running its tests in place).
SKIPPED_NAMES = frozenset({"__pycache__", ".pytest_cache", ".edgeworks", ".mypy_cache"})
#: Suffixes of files rendered as text (the placeholder is replaced); others are copied as bytes.
TEXT_SUFFIXES = frozenset(
    {".py", ".toml", ".md", ".txt", ".html", ".css", ".js", ".json", ".jsonc", ".ini", ".cfg", ""}
)


def _template_root(template: str) -> Traversable:
    if template not in TEMPLATES:
        raise ValueError(f"unknown template {template!r}; available: {', '.join(TEMPLATES)}")
    return resources.files("runtime").joinpath("templates", template)


def _walk(node: Traversable, prefix: PurePosixPath) -> list[tuple[PurePosixPath, Traversable]]:
    found = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name in SKIPPED_NAMES or child.name.endswith(".pyc"):
            continue
        rel = prefix / child.name
        if child.is_dir():
            found += _walk(child, rel)
        else:
            found.append((rel, child))
    return found


def project_name(target: Path) -> str:
    """A config-friendly project name from a folder name (lowercase, letters, digits, ``-``)."""
    raw = target.resolve().name.lower()
    cleaned = re.sub(r"[^a-z0-9]+", "-", raw).strip("-")
    return cleaned or "my-worker"


def render_template(template: str, name: str) -> dict[PurePosixPath, bytes]:
    """Every file of ``template`` (relative path -> content) with the name filled in."""
    files = {}
    for rel, node in _walk(_template_root(template), PurePosixPath()):
        data = node.read_bytes()
        suffix = PurePosixPath(rel.name.lstrip(".")).suffix
        if suffix in TEXT_SUFFIXES:
            data = data.decode("utf-8").replace(NAME_PLACEHOLDER, name).encode("utf-8")
        files[rel] = data
    return files


def init_project(
    target: Path, *, template: str = TEMPLATES[0], name: str | None = None
) -> list[Path]:
    """Write the ``template`` project into ``target``; returns the files written.

    Refuses (``FileExistsError`` listing them, nothing written) when any of the
    files already exists; other files already in ``target`` are left alone.
    """
    files = render_template(template, name or project_name(target))
    existing = sorted(str(rel) for rel in files if (target / rel).exists())
    if existing:
        raise FileExistsError(
            f"{target}: refusing to overwrite existing files: {', '.join(existing)}; "
            "choose an empty folder"
        )
    written = []
    for rel, data in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written
