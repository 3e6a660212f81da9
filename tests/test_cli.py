"""The top-level ``edgeworks`` command (``cli.py``): version, the groups it lists, and a
start-up that loads only what the command run needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from tests.support import REPO_ROOT

# What `edgeworks kv ...` must never import: the servers and starlette's app stack.
SERVER_MODULES = (
    "uvicorn",
    "watchfiles",
    "starlette.applications",
    "starlette.routing",
    "runtime.app",
    "runtime.dev",
    "runtime.serve",
)


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("edgeworks ")


def test_cli_help_lists_every_group_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    names = [group.__name__.rpartition(".")[2] for group in cli.GROUPS]
    assert names == ["kv", "queues", "sites", "serve", "dev", "init"]
    positions = [out.index(f"\n    {name} ") for name in names]
    assert positions == sorted(positions), out


def test_cli_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["nope"]) == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_cli_kv_key_get_does_not_import_the_servers(tmp_path: Path) -> None:
    """A fresh interpreter runs ``edgeworks kv key get`` and reports what it imported."""
    script = (
        "import json, sys, cli\n"
        "code = cli.main(sys.argv[1:])\n"
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
    )
    store = f"sqlite:///{tmp_path / 'kv.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWORKS_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "kv",
            "key",
            "get",
            "--kv",
            store,
            "--namespace-id",
            "n",
            "k",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["code"] == 1 and "Value not found" in done.stderr  # the command really ran
    assert "runtime.commands.kv" in report["modules"] and "kv.backends.sqlite" in report["modules"]
    loaded = [
        name
        for name in report["modules"]
        if any(name == bad or name.startswith(bad + ".") for bad in SERVER_MODULES)
    ]
    assert loaded == []
