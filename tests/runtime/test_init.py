"""`edgeworks init`: a ready project from package templates, never overwriting files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import cli
from runtime.init import TEMPLATES, init_project, project_name
from tests.support import REPO_ROOT, edgeworks


@pytest.mark.parametrize("template", TEMPLATES)
def test_init_project_tests_pass(tmp_path: Path, template: str) -> None:
    target = tmp_path / f"my {template} app"
    assert cli.main(["init", str(target), "--template", template]) == 0
    from runtime.config import load_config

    assert load_config(target, environ={}).name == f"my-{template}-app"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=target,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "worker.py").write_text("mine\n")
    assert cli.main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "refusing to overwrite existing files: worker.py" in err
    assert (tmp_path / "worker.py").read_text() == "mine\n"
    assert not (tmp_path / "edgeworks.toml").exists()  # nothing written at all


def test_init_unknown_template_is_usage_error(tmp_path: Path) -> None:
    assert cli.main(["init", str(tmp_path), "--template", "nope"]) == 2
    with pytest.raises(ValueError, match="unknown template 'nope'; available: hello"):
        init_project(tmp_path, template="nope")


def test_init_into_current_folder_keeps_other_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("keep\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init", "--template", "counter", "--name", "tally"]) == 0
    assert 'name = "tally"' in (tmp_path / "edgeworks.toml").read_text()
    assert (tmp_path / "notes.txt").read_text() == "keep\n"
    assert "Next: edgeworks dev" in capsys.readouterr().out


def test_project_name_is_config_friendly(tmp_path: Path) -> None:
    assert project_name(tmp_path / "My App_2") == "my-app-2"
    assert project_name(tmp_path / "___") == "my-worker"


def test_init_then_dev_serves_at_once(tmp_path: Path) -> None:
    assert cli.main(["init", str(tmp_path), "--template", "counter"]) == 0
    proc = edgeworks("dev", "--port", "0", cwd=tmp_path)
    try:
        url = proc.wait_for(r"Listening on (http://\S+)").group(1)
        assert httpx.get(url + "/", timeout=5).text == "hit 1\n"
    finally:
        proc.stop()
