"""Cloudflare projects only: the ``js``/``pyodide``/``asgi`` stand-ins, ``sys.path`` as
pywrangler sets it, and the check that ``workers`` is edgeworks' SDK.

The stand-ins are modules of the ``workers`` package (``workers._js``,
``workers._pyodide``, ``workers.asgi``) made importable under Cloudflare's names
by a finder that is installed when a Cloudflare project loads and sits last on
``sys.meta_path``: a real ``pyodide`` installed in the venv still wins, and an
edgeworks.toml project never sees them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
import types
from collections.abc import Sequence
from pathlib import Path

from runtime._config_load import CONFIG_FILENAMES
from runtime.errors import WorkerLoadError
from runtime.limits import MSG_WORKERS_SHADOWED

__all__ = [
    "check_workers_package",
    "install",
    "installed",
    "is_cloudflare_project",
    "uninstall",
    "vendored_paths",
]

#: Cloudflare's module name -> the edgeworks module that stands in for it.
STANDINS = {
    "js": "workers._js",
    "pyodide": "workers._pyodide",
    "pyodide.ffi": "workers._pyodide",
    "pyodide.http": "workers._pyodide",
    "pyodide.code": "workers._pyodide",
    "asgi": "workers.asgi",
}
SDK_MARKER = b"edgeworks-workers-sdk"  # a line in workers/__init__.py
PYTHON_MODULES = "python_modules"  # pywrangler's vendoring folder, on sys.path
_IMPORTS_JS = re.compile(rb"^\s*(?:from|import)\s+(?:js|pyodide)\b", re.MULTILINE)


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def exec_module(self, module: types.ModuleType) -> None:
        source = importlib.import_module(self.target)
        names = {k: v for k, v in vars(source).items() if not k.startswith("__")}
        module.__dict__.update(names)
        if "__getattr__" in vars(source):
            module.__dict__["__getattr__"] = vars(source)["__getattr__"]
        if "." not in module.__name__ and module.__name__ == "pyodide":
            module.__path__ = []


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        alias = STANDINS.get(fullname)
        if alias is None:
            return None
        return importlib.util.spec_from_loader(
            fullname, _Alias(alias), is_package=fullname == "pyodide"
        )


_finder = _Finder()


def install() -> bool:
    """Make the stand-ins importable; ``True`` when this call installed them."""
    if _finder in sys.meta_path:
        return False
    sys.meta_path.append(_finder)
    return True


def installed() -> bool:
    return _finder in sys.meta_path


def uninstall() -> None:
    """Remove the finder and forget the stand-in modules it created."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in STANDINS:
        module = sys.modules.get(name)
        if module is not None and isinstance(module.__spec__ and module.__spec__.loader, _Alias):
            del sys.modules[name]


def is_cloudflare_project(file: Path, root: Path) -> bool:
    """A wrangler config (and no edgeworks.toml) in ``root``, or a main module that
    imports ``js``/``pyodide``."""
    native, *wrangler = CONFIG_FILENAMES
    if not (root / native).is_file() and any((root / name).is_file() for name in wrangler):
        return True
    try:
        return _IMPORTS_JS.search(file.read_bytes()) is not None
    except OSError:
        return False


def vendored_paths(root: Path) -> list[Path]:
    """pywrangler's ``python_modules`` folder, when the project has one (``sys.path``
    also gets the folder of ``main``, as on Cloudflare)."""
    vendored = root / PYTHON_MODULES
    return [vendored] if vendored.is_dir() else []


def check_workers_package() -> None:
    """``WorkerLoadError`` (one line) when ``import workers`` would not give edgeworks'
    SDK, e.g. because Cloudflare's workers-runtime-sdk is installed in the venv."""
    spec = importlib.util.find_spec("workers")
    origin = spec.origin if spec is not None else None
    expected = Path(__file__).resolve().parent.parent / "workers" / "__init__.py"
    try:
        ok = origin is not None and SDK_MARKER in Path(origin).read_bytes()
    except OSError:
        ok = False
    if not ok:
        shown = origin or "missing"
        error = WorkerLoadError(
            MSG_WORKERS_SHADOWED.format(origin=shown, expected=expected), filename=origin
        )
        error.one_line = True
        raise error
