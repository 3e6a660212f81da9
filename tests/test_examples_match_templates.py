"""`edgeworks init` templates (runtime/templates/) equal the example projects (examples/)."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

import pytest

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
    name = tomllib.loads((example / "edgeworks.toml").read_text())["name"]
    rendered = render_template(template, name)
    expected = _example_files(example)
    assert sorted(rendered) == sorted(expected)
    for rel, data in expected.items():
        assert rendered[rel] == data, f"runtime/templates/{template}/{rel} differs from examples"


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_has_project_essentials(template: str) -> None:
    files = render_template(template, "my-app")
    names = {str(rel) for rel in files}
    assert {"edgeworks.toml", ".gitignore", "pytest.ini"} <= names
    assert any(n.startswith("tests/test_") for n in names)
    assert b".edgeworks/" in files[PurePosixPath(".gitignore")]
    assert b"asyncio_mode = auto" in files[PurePosixPath("pytest.ini")]
    assert b'name = "my-app"' in files[PurePosixPath("edgeworks.toml")]
