"""Fixtures of the workers' tests: a blue and a green origin shared by the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.workers._serve import Origin, start_origin


@pytest.fixture(scope="session")
def origins() -> Iterator[dict[str, Origin]]:
    """A blue and a green origin for the whole session, stopped by their PIDs."""
    started: dict[str, Origin] = {}
    try:
        for color in ("blue", "green"):
            started[color] = start_origin(color)
        yield started
    finally:
        for origin in started.values():
            origin.proc.stop()
