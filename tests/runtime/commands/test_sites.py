"""`edgeworks sites deploy [DIR] [--verbose] [--dry-run]` in-process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import cli
from sites import limits


def _project(root: Path, files: dict[str, str], extra: str = "") -> Path:
    for rel, text in files.items():
        path = root / "public" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "edgeworks.toml").write_text(f'name = "demo"\n[site]\nbucket = "public"\n{extra}')
    return root / "edgeworks.toml"


def _run(*args: str) -> int:
    return cli.main(["sites", "deploy", *args])


def test_cli_sites_deploy_summary_and_redeploy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _project(tmp_path, {"index.html": "a", "css/x.css": "b"})
    store = f"sqlite:///{tmp_path}/kv.sqlite3"
    assert _run("--config", str(config), "--kv", store) == 0
    assert capsys.readouterr().out == "2 uploaded, 0 unchanged, 0 deleted, version 1\n"
    (tmp_path / "public" / "css" / "x.css").write_text("changed")
    assert _run("--config", str(config), "--kv", store, "--verbose") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 uploaded, 1 unchanged, 0 deleted, version 2"
    assert any(line.startswith("+ css/x.css (css/x.") for line in out)
    assert any(line.startswith("= index.html (index.") for line in out)


def test_cli_sites_deploy_dir_argument_and_dry_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "elsewhere"
    site.mkdir()
    (site / "page.html").write_text("p")
    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{tmp_path}/kv.sqlite3"
    assert _run("elsewhere", "--kv", store, "--dry-run") == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert re.fullmatch(r"\+ page\.html \(page\.[0-9a-f]{10}\.html, 1 bytes\)", out[0])
    assert out[1] == "1 uploaded, 0 unchanged, 0 deleted, version 1 (dry run)"
    assert _run("elsewhere", "--kv", store) == 0
    assert capsys.readouterr().out.endswith("version 1\n")


def test_cli_sites_deploy_warnings_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _project(tmp_path, {"index.html": "a", "_redirects": "/a /b 999\n"})
    assert _run("--config", str(config), "--kv", "memory") == 0
    captured = capsys.readouterr()
    assert "warning: _redirects:1: status '999'" in captured.err


def test_cli_sites_deploy_oversize_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _project(tmp_path, {"index.html": "a"})
    with open(tmp_path / "public" / "huge.bin", "wb") as fh:
        fh.truncate(limits.MAX_ASSET_BYTES + 1)
    assert _run("--config", str(config), "--kv", "memory") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: deploy refused, the live site is unchanged")
    assert "huge.bin" in err and "25 MiB" in err


def test_cli_sites_deploy_without_site_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "edgeworks.toml").write_text('name = "x"\nmain = "w.py"\n')
    assert _run("--kv", "memory") == 2
    assert "no site to deploy" in capsys.readouterr().err


def test_cli_sites_help_lists_deploy(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sites", "deploy", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--dry-run" in out and "--verbose" in out and "DIR" in out
