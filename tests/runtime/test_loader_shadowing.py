"""A project module named like an edgeworks package is a load error, not a silent swap."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.errors import WorkerLoadError
from runtime.limits import EDGEWORKS_TOP_LEVEL
from runtime.loader import load_worker

WORKER = "async def handle_request(request):\n    return None\n"


@pytest.mark.parametrize("name", EDGEWORKS_TOP_LEVEL)
def test_loader_refuses_a_project_module_named_like_an_edgeworks_package(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / "worker.py").write_text(f"import {name}\n" + WORKER)
    own = tmp_path / f"{name}.py"
    own.write_text("VALUE = 'mine'\n")
    with pytest.raises(WorkerLoadError) as info:
        load_worker(tmp_path / "worker.py")
    message = str(info.value)
    assert message.startswith(f"{own}: ")
    assert f"edgeworks' own '{name}' package" in message
    assert "rename it" in message and "\n" not in message


def test_loader_refuses_a_project_package_named_like_an_edgeworks_package(
    tmp_path: Path,
) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    package = tmp_path / "kv"
    package.mkdir()
    (package / "__init__.py").write_text("")
    with pytest.raises(WorkerLoadError, match=r"kv/__init__\.py: this module is named like"):
        load_worker(tmp_path / "worker.py", project_root=tmp_path)


def test_loader_accepts_a_data_folder_named_like_an_edgeworks_package(tmp_path: Path) -> None:
    # A site bucket called "sites" holds no Python package: nothing is shadowed.
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "index.html").write_text("<h1>hi</h1>")
    (tmp_path / "worker.py").write_text(WORKER)
    assert load_worker(tmp_path / "worker.py").arity == 1


def test_loader_checks_again_on_every_load(tmp_path: Path) -> None:
    # dev reloads by loading again: a kv.py added after the first load is caught then.
    (tmp_path / "worker.py").write_text(WORKER)
    load_worker(tmp_path / "worker.py")
    (tmp_path / "kv.py").write_text("")
    with pytest.raises(WorkerLoadError, match=r"kv\.py: this module is named like"):
        load_worker(tmp_path / "worker.py")
