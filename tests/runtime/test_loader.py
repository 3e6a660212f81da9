"""The loader: handler arity, service-worker globals, and every load error's message."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runtime.env import Env
from runtime.errors import WorkerLoadError
from runtime.loader import load_worker


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("params", "arity"),
    [("request", 1), ("request, env", 2), ("request, env, ctx", 3), ("*args", 3)],
)
def test_load_worker_inspects_arity(tmp_path: Path, params: str, arity: int) -> None:
    path = write(tmp_path, "worker.py", f"async def handle_request({params}):\n    return None\n")
    assert load_worker(path).arity == arity


def test_load_worker_gives_each_load_its_own_module(tmp_path: Path) -> None:
    path = write(tmp_path, "worker.py", "N = []\nasync def handle_request(request):\n    pass\n")
    first, second = load_worker(path), load_worker(path)
    assert first.module is not second.module
    assert first.module_name != second.module_name
    assert sys.modules[first.module_name] is first.module


def test_load_worker_binds_globals_for_one_parameter_handlers(tmp_path: Path) -> None:
    path = write(tmp_path, "worker.py", "async def handle_request(request):\n    return GREETING\n")
    worker = load_worker(path)
    worker.bind_globals(Env({"GREETING": "hi"}).as_dict())
    assert worker.module.GREETING == "hi"


def test_load_worker_keeps_globals_clean_for_three_parameter_handlers(tmp_path: Path) -> None:
    path = write(tmp_path, "worker.py", "async def handle_request(request, env, ctx):\n    pass\n")
    worker = load_worker(path)
    worker.bind_globals({"GREETING": "hi"})
    assert not hasattr(worker.module, "GREETING")


def test_load_worker_imports_sibling_modules(tmp_path: Path) -> None:
    write(tmp_path, "helpers_for_loader_test.py", "VALUE = 42\n")
    path = write(
        tmp_path,
        "worker.py",
        "from helpers_for_loader_test import VALUE\nasync def handle_request(r):\n    pass\n",
    )
    assert load_worker(path).module.VALUE == 42


def test_load_worker_reports_syntax_error_line(tmp_path: Path) -> None:
    path = write(tmp_path, "worker.py", "x = 1\n\ndef broken(:\n    pass\n")
    with pytest.raises(WorkerLoadError) as info:
        load_worker(path)
    assert info.value.filename == str(path)
    assert info.value.lineno == 3
    assert str(info.value).startswith(f"{path}:3: SyntaxError:")


def test_load_worker_reports_import_error_in_worker(tmp_path: Path) -> None:
    path = write(tmp_path, "worker.py", "import os\nimport no_such_module_xyz\n")
    with pytest.raises(WorkerLoadError) as info:
        load_worker(path)
    assert info.value.lineno == 2
    assert "ModuleNotFoundError: No module named 'no_such_module_xyz'" in str(info.value)
    assert str(info.value).startswith(f"{path}:2:")


def test_load_worker_points_at_deepest_project_frame(tmp_path: Path) -> None:
    helper = write(
        tmp_path, "helper_raising_for_test.py", "def f():\n    raise ValueError('bad')\n"
    )
    path = write(
        tmp_path, "worker.py", "import helper_raising_for_test\nhelper_raising_for_test.f()\n"
    )
    with pytest.raises(WorkerLoadError) as info:
        load_worker(path)
    assert info.value.filename == str(helper)
    assert info.value.lineno == 2
    assert str(info.value) == f"{helper}:2: ValueError: bad"


def test_load_worker_rejects_missing_handler(tmp_path: Path) -> None:
    path = write(tmp_path, "worker.py", "async def handle(request):\n    pass\n")
    with pytest.raises(WorkerLoadError, match="no handle_request function") as info:
        load_worker(path)
    assert str(info.value).startswith(str(path))


def test_load_worker_rejects_sync_handler(tmp_path: Path) -> None:
    path = write(tmp_path, "worker.py", "\n\ndef handle_request(request):\n    pass\n")
    with pytest.raises(WorkerLoadError) as info:
        load_worker(path)
    assert str(info.value) == (
        f"{path}:3: handle_request must be a coroutine function (async def handle_request(...))"
    )
    assert info.value.lineno == 3


def test_load_worker_rejects_zero_and_four_parameters(tmp_path: Path) -> None:
    for params in ("", "a, b, c, d"):
        path = write(tmp_path, "worker.py", f"async def handle_request({params}):\n    pass\n")
        with pytest.raises(WorkerLoadError, match="it must take 1, 2 or 3 of"):
            load_worker(path)


def test_load_worker_rejects_sync_scheduled(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "worker.py",
        "async def handle_request(r):\n    pass\ndef scheduled(event, env, ctx):\n    pass\n",
    )
    with pytest.raises(WorkerLoadError, match=r":3: scheduled must be a coroutine function"):
        load_worker(path)


def test_load_worker_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkerLoadError, match="worker file not found"):
        load_worker(tmp_path / "nope.py")


def test_load_worker_inspects_scheduled_arity(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "worker.py",
        "async def handle_request(r):\n    pass\nasync def scheduled(event):\n    pass\n",
    )
    assert load_worker(path).scheduled_arity == 1
    path.write_text(
        "async def handle_request(r):\n    pass\nasync def scheduled(a, b, c, d):\n    pass\n"
    )
    with pytest.raises(WorkerLoadError, match=r":3: scheduled takes 4 positional parameters"):
        load_worker(path)
