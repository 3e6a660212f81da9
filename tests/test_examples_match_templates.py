"""`edgeworks init` templates (runtime/templates/) equal the example projects (examples/)."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

import pytest

from runtime.config import load_config
from runtime.init import SKIPPED_NAMES, TEMPLATES, render_template
from tests.support import REPO_ROOT

# Templates whose example project has another name (``edgeworks init --template queue``
# writes the project of examples/jobs).
EXAMPLE_OF = {"queue": "jobs"}


def _example_files(root: Path) -> dict[PurePosixPath, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_dir() or SKIPPED_NAMES.intersection(rel.parts) or path.suffix == ".pyc":
            continue
        files[PurePosixPath(rel.as_posix())] = path.read_bytes()
    return files


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_equals_example(template: str) -> None:
    folder = EXAMPLE_OF.get(template, template)
    example = REPO_ROOT / "examples" / folder
    assert example.is_dir(), f"examples/{folder} is missing"
    rendered = render_template(template, load_config(example, environ={}).name)
    expected = _example_files(example)
    assert sorted(rendered) == sorted(expected)
    for rel, data in expected.items():
        assert rendered[rel] == data, f"runtime/templates/{template}/{rel} differs from examples"


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_has_project_essentials(template: str) -> None:
    files = render_template(template, "my-app")
    names = {str(rel) for rel in files}
    config = "wrangler.jsonc" if template == "python-worker" else "edgeworks.toml"
    assert {config, ".gitignore", "pytest.ini"} <= names
    assert any(n.startswith("tests/test_") for n in names)
    assert b".edgeworks/" in files[PurePosixPath(".gitignore")]
    assert b"asyncio_mode = auto" in files[PurePosixPath("pytest.ini")]
    written = b'"name": "my-app"' if config.endswith(".jsonc") else b'name = "my-app"'
    assert written in files[PurePosixPath(config)]


def test_python_worker_template_is_what_pywrangler_init_writes(tmp_path: Path) -> None:
    files = render_template("python-worker", "my-worker")
    assert {"wrangler.jsonc", "src/entry.py", "pyproject.toml"} <= {str(r) for r in files}
    (tmp_path / "p").mkdir()
    for rel, data in files.items():
        (tmp_path / "p" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "p" / rel).write_bytes(data)
    config = load_config(tmp_path / "p", environ={})
    assert config.is_cloudflare and config.main == tmp_path / "p" / "src" / "entry.py"
    assert config.cloudflare is not None and config.cloudflare.warnings == ()
    assert b"class Default(WorkerEntrypoint):" in files[PurePosixPath("src/entry.py")]
    project = tomllib.loads(files[PurePosixPath("pyproject.toml")].decode())
    assert project["project"]["name"] == "my-worker"
