"""What `edgeworks dev` watches and what a changed path means.

:class:`WatchPlan` knows the project layout (root folder, config file,
``.dev.vars``, site bucket) and classifies a changed path as ``code``,
``config`` or ``bucket`` -- or ``None`` for everything dev must never reload
for (``.edgeworks/``, ``.git/``, ``__pycache__/``, ``.venv/``, ``node_modules/``,
SQLite side files, logs, editor swap and backup files).

Directories are watched, never single files, so editors that save by writing
a temporary file and renaming it over the original are seen as a change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

#: Directory names whose contents never trigger a reload, wherever they are below a root.
IGNORED_DIRS: frozenset[str] = frozenset(
    {
        ".edgeworks",
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        "venv",
        "node_modules",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".idea",
        ".hypothesis",
    }
)

#: File names that never trigger a reload: SQLite side files, logs, editor swap/backup files.
IGNORED_NAME_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        r"-(wal|shm|journal)$",  # SQLite side files (kv.sqlite3-wal, -shm, -journal)
        r"\.(sqlite3?|db)$",  # SQLite databases themselves
        r"\.log(\.\d+)?$",  # logs and rotated logs
        r"\.sw[a-p]$",  # vim swap files (.swp, .swo, ...)
        r"~$",  # backup files (vim, emacs)
        r"^\.#",  # emacs lock files
        r"^#.*#$",  # emacs auto-save files
        r"^4913$",  # vim's write-permission probe file
        r"\.___jb_...___$",  # JetBrains safe-write temporaries
        r"\.py[cod]$",  # bytecode
        r"^\.DS_Store$",
        r"\.tmp$",  # atomic-save temporaries: the rename onto the real name is the change
    )
)


class ChangeKind(StrEnum):
    """What a changed path means for the dev server."""

    CODE = "code"  # a Python file of the project: re-import the worker
    CONFIG = "config"  # edgeworks.toml or .dev.vars: rebuild bindings and env, then re-import
    BUCKET = "bucket"  # a file of the site bucket: redeploy changed files, live-reload pages


def is_ignored(relative_parts: Iterable[str]) -> bool:
    """True if a path (given as its parts below a watched root) must never trigger a reload."""
    parts = list(relative_parts)
    if not parts:
        return True
    if any(part in IGNORED_DIRS for part in parts[:-1]):
        return True
    name = parts[-1]
    if name in IGNORED_DIRS:
        return True
    return any(pattern.search(name) for pattern in IGNORED_NAME_PATTERNS)


def _parts_below(path: Path, root: Path) -> tuple[str, ...] | None:
    try:
        return path.relative_to(root).parts
    except ValueError:
        return None


@dataclass(frozen=True)
class WatchPlan:
    """The paths `edgeworks dev` watches and how a change to each is handled.

    >>> plan = WatchPlan(root=Path("/p"), config_file=Path("/p/edgeworks.toml"))
    >>> plan.classify("/p/lib/util.py")
    <ChangeKind.CODE: 'code'>
    >>> plan.classify("/p/.edgeworks/state/kv.sqlite3-wal") is None
    True
    """

    root: Path
    config_file: Path | None = None
    dev_vars: Path | None = None
    bucket: Path | None = None

    def roots(self) -> list[Path]:
        """Top-level watched folders: the project root, and the bucket when it lies outside."""
        roots = [self.root]
        if self.bucket is not None and _parts_below(self.bucket, self.root) is None:
            roots.append(self.bucket)
        return roots

    def deep_roots(self) -> list[Path]:
        """Folders watched recursively: the root's sub-folders that are not ignored (so a
        ``.venv`` or ``node_modules`` never costs an OS watch), and an outside bucket.

        The root itself is watched without recursion (files directly in it).
        """
        try:
            entries = sorted(self.root.iterdir())
        except OSError:
            entries = []
        deep = [e for e in entries if e.name not in IGNORED_DIRS and e.is_dir()]
        return deep + self.roots()[1:]

    def describe(self) -> list[str]:
        """Human-readable watched paths, for the startup banner."""
        items = [f"{self.root}/**/*.py"]
        if self.config_file is not None:
            items.append(str(self.config_file))
        if self.dev_vars is not None:
            items.append(str(self.dev_vars))
        if self.bucket is not None:
            items.append(f"{self.bucket}/ (site bucket)")
        return items

    def classify(self, raw_path: str | Path) -> ChangeKind | None:
        """The kind of change ``raw_path`` stands for, or ``None`` when it is ignored."""
        path = Path(raw_path)
        if self.config_file is not None and path == self.config_file:
            return ChangeKind.CONFIG
        if self.dev_vars is not None and path == self.dev_vars:
            return ChangeKind.CONFIG
        if self.bucket is not None:
            parts = _parts_below(path, self.bucket)
            if parts is not None:
                return None if is_ignored(parts) else ChangeKind.BUCKET
        parts = _parts_below(path, self.root)
        if parts is None or is_ignored(parts):
            return None
        if path.suffix == ".py":
            return ChangeKind.CODE
        return None

    def watch_filter(self, _change: object, raw_path: str) -> bool:
        """A ``watchfiles`` filter: keep only paths that :meth:`classify` recognises."""
        return self.classify(raw_path) is not None
