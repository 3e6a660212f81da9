"""Re-import a worker and the project modules it uses, in a fresh module namespace.

``importlib.reload`` rebinds names in place, so old objects keep pointing at
old classes and a failed reload leaves half-updated modules behind. Instead,
:func:`fresh_import` takes every module whose file lies under the project
folder out of ``sys.modules``, runs the loader (which imports the worker and,
through it, its project modules again from source) and:

- on success leaves the new modules registered; the old generation stays
  alive only as long as something (an in-flight request) still uses it;
- on failure removes whatever the failed attempt registered and puts the old
  modules back, so the last good generation stays intact.

Modules of edgeworks itself and of installed packages (anything under a
``.venv``, ``site-packages`` ...) are never touched, even when they live
below the project folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import linecache
import sys
import types
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from runtime.dev.plan import ChangeKind, is_ignored
from runtime.dev.watch import Batch
from runtime.errors import WorkerLoadError
from runtime.limits import DEV_LOAD_RETRIES, DEV_LOAD_SETTLE_MS

T = TypeVar("T")

#: Top-level packages of edgeworks: never unloaded, even when the project is this checkout.
OWN_PACKAGES = frozenset({"cli", "kv", "runtime", "sites", "workers", "tests"})
#: Path parts that mark installed code rather than project code.
INSTALLED_MARKERS = frozenset({"site-packages", "dist-packages"})


def _module_file(module: types.ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return None
    return Path(file)


def project_modules(root: Path) -> dict[str, types.ModuleType]:
    """Modules in ``sys.modules`` whose source file is project code under ``root``."""
    found = {}
    for name, module in list(sys.modules.items()):
        if module is None or name.partition(".")[0] in OWN_PACKAGES:
            continue
        file = _module_file(module)
        if file is None or not file.is_absolute():
            continue
        try:
            parts = file.relative_to(root).parts
        except ValueError:
            continue
        if INSTALLED_MARKERS.intersection(parts) or is_ignored(parts):
            continue
        found[name] = module
    return found


def drop_stale_bytecode(paths: Iterable[Path]) -> None:
    """Remove cached bytecode of changed sources.

    A ``.pyc`` records the source's mtime in whole seconds and its size, so two
    saves within one second that keep the size (``v1`` -> ``v2``) would
    otherwise load the old bytecode.
    """
    for path in paths:
        if path.suffix != ".py":
            continue
        with contextlib.suppress(OSError, ValueError, NotImplementedError):
            Path(importlib.util.cache_from_source(str(path))).unlink(missing_ok=True)


def fresh_import(root: Path, load: Callable[[], T]) -> T:
    """Run ``load`` with the project's modules under ``root`` unloaded; restore them on failure.

    >>> worker = fresh_import(project, lambda: load_worker(project / "worker.py"))
    """
    old = project_modules(root)
    for name in old:
        del sys.modules[name]
    importlib.invalidate_caches()
    linecache.checkcache()
    try:
        return load()
    except BaseException:
        for name in project_modules(root):
            sys.modules.pop(name, None)
        sys.modules.update(old)
        raise


def snapshot(paths: Iterable[Path]) -> dict[Path, tuple[int, int]]:
    """(size, crc32 of the content) of each file; (-1, 0) when it is missing.

    Content rather than mtime: file timestamps can be as coarse as a kernel
    tick, so two quick saves of the same size could look identical.
    """
    out = {}
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            out[path] = (-1, 0)
        else:
            out[path] = (len(data), zlib.crc32(data))
    return out


async def load_settled(
    load: Callable[[], T], changed: set[Path], loaded: dict[Path, tuple[int, int]]
) -> T:
    """``load()``; when it fails while the changed files are still being written, retry.

    Editors that truncate then write in chunks (or rename in steps) can
    leave a moment where the file is empty or half written; a load that
    fails then is retried once the files stop changing. ``loaded`` records
    the :func:`snapshot` of the files each attempt read.
    """
    drop_stale_bytecode(changed)
    attempt = 0
    while True:
        before = snapshot(changed)
        loaded.update(before)
        try:
            return load()
        except WorkerLoadError:
            attempt += 1
            if attempt > DEV_LOAD_RETRIES:
                raise
            await asyncio.sleep(DEV_LOAD_SETTLE_MS / 1000)
            after = snapshot(changed)
            if after == before and not any(size <= 0 for size, _crc in after.values()):
                raise
            drop_stale_bytecode(changed)


def not_yet_loaded(batch: Batch, loaded: dict[Path, tuple[int, int]]) -> Batch:
    """``batch`` without code files that are exactly as the last load read them.

    A load retried while a file was still being written (:func:`load_settled`)
    may already have read the final save whose events arrive afterwards;
    such a batch is no reload, and such files are no trigger.
    """
    code = batch.paths.get(ChangeKind.CODE)
    if not code:
        return batch
    current = snapshot(code)
    kept = Batch()
    for kind, paths in batch.paths.items():
        for path in paths:
            if kind is ChangeKind.CODE and loaded.get(path) == current[path]:
                continue
            kept.add(kind, path)
    return kept
