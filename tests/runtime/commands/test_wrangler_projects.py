"""The ``kv`` and ``sites`` commands in a project configured by a wrangler config:
``--binding`` finds the namespace in ``kv_namespaces`` (``--env`` picks a section)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.runtime.commands.test_kv import run

CONFIG = """\
{
  // a pywrangler project
  "name": "py", "main": "src/entry.py",
  "kv_namespaces": [{"binding": "KV", "id": "<YOUR_KV_NAMESPACE_ID>"}],
  "assets": {"directory": "./public"},
  "d1_databases": [{"binding": "DB", "database_name": "d", "database_id": "1"}],
  "queues": {"producers": [{"binding": "JOBS", "queue": "jobs"}], "consumers": [{"queue": "jobs"}]},
  "env": {"staging": {"kv_namespaces": [{"binding": "KV", "id": "staging-kv"}]}},
}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "wrangler.jsonc").write_text(CONFIG)
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text("<h1>hi</h1>\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_kv_binding_comes_from_kv_namespaces(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "kv", "key", "put", "--binding", "KV", "greeting", "hello")
    assert code == 0 and "'<YOUR_KV_NAMESPACE_ID>'" in out and err == ""  # no config warnings
    assert run(capsys, "kv", "key", "get", "--binding", "KV", "greeting")[1] == "hello"
    code, out, err = run(
        capsys, "kv", "key", "get", "--binding", "KV", "--env", "staging", "greeting"
    )
    assert code == 1 and "not found" in (out + err).lower()
    run(capsys, "kv", "key", "put", "--binding", "KV", "--env", "staging", "greeting", "stage")
    assert run(capsys, "kv", "key", "get", "--binding", "KV", "--env", "staging", "greeting")[
        1
    ] == ("stage")
    assert run(capsys, "kv", "key", "get", "--binding", "KV", "greeting")[1] == "hello"
    code, _out, err = run(capsys, "kv", "key", "get", "--binding", "NOPE", "greeting")
    assert code == 2 and "no KV binding 'NOPE' in kv_namespaces; configured bindings: KV" in err


def test_sites_deploy_deploys_the_assets_directory(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "sites", "deploy")
    assert code == 0 and "1 uploaded" in out and err == ""


def test_queues_commands_see_the_wrangler_queues(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "queues", "send", "jobs", '{"n": 1}')
    assert code == 0 and err == ""
    code, out, _err = run(capsys, "queues", "info", "jobs")
    assert code == 0 and re.search(r"ready\s*\S\s*1\s", out), out
    assert re.search(r"producers\s*\S\s*JOBS\s", out), out
