"""Fresh-namespace re-import of project modules (runtime/dev/reload.py)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.dev.reload import drop_stale_bytecode, fresh_import, project_modules


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "proj"
    (root / "lib").mkdir(parents=True)
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / "lib" / "__init__.py").write_text("")
    (root / "lib" / "helper.py").write_text("VALUE = 'v1'\n")
    (root / "app_main.py").write_text("from lib.helper import VALUE\n")
    (root / ".venv" / "lib" / "installed_mod_x.py").write_text("X = 1\n")
    sys.path.insert(0, str(root))
    sys.path.insert(0, str(root / ".venv" / "lib"))
    yield root
    sys.path.remove(str(root))
    sys.path.remove(str(root / ".venv" / "lib"))
    for name in ("app_main", "lib", "lib.helper", "installed_mod_x"):
        sys.modules.pop(name, None)


def _load() -> types.ModuleType:
    return importlib.import_module("app_main")


def test_project_modules_are_those_under_root(project: Path) -> None:
    _load()
    importlib.import_module("installed_mod_x")
    names = set(project_modules(project))
    assert names == {"app_main", "lib", "lib.helper"}


def test_fresh_import_sees_changed_helper(project: Path) -> None:
    first = fresh_import(project, _load)
    assert first.VALUE == "v1"
    (project / "lib" / "helper.py").write_text("VALUE = 'v2'\n")
    drop_stale_bytecode([project / "lib" / "helper.py"])
    second = fresh_import(project, _load)
    assert second.VALUE == "v2"
    assert second is not first
    assert first.VALUE == "v1"  # the old generation is untouched


def test_fresh_import_failure_restores_old_modules(project: Path) -> None:
    good = fresh_import(project, _load)
    helper = sys.modules["lib.helper"]
    (project / "lib" / "helper.py").write_text("VALUE = (\n")
    drop_stale_bytecode([project / "lib" / "helper.py"])
    with pytest.raises(SyntaxError):
        fresh_import(project, _load)
    assert sys.modules["app_main"] is good
    assert sys.modules["lib.helper"] is helper
    (project / "lib" / "helper.py").write_text("VALUE = 'v3'\n")
    assert fresh_import(project, _load).VALUE == "v3"


def test_drop_stale_bytecode_removes_pyc(project: Path) -> None:
    source = project / "lib" / "helper.py"
    importlib.import_module("lib.helper")
    cached = Path(importlib.util.cache_from_source(str(source)))
    if not cached.exists():  # bytecode writing disabled in this interpreter
        cached.parent.mkdir(exist_ok=True)
        cached.write_bytes(b"")
    drop_stale_bytecode([source, project / "README.md"])
    assert not cached.exists()
