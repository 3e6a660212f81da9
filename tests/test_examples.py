"""Every example project's own test suite passes (run as a user would: pytest in its folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

EXAMPLES = sorted(path.parent.parent for path in (REPO_ROOT / "examples").glob("*/tests/test_*.py"))


@pytest.mark.parametrize("example", sorted(set(EXAMPLES)), ids=lambda p: p.name)
def test_example_tests_pass(example: Path) -> None:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_examples_include_hello_and_counter() -> None:
    assert {"hello", "counter"} <= {path.name for path in EXAMPLES}
