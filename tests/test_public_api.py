"""Each package's public names: ``__all__`` is sorted, unique, every name imports, and
every public class and function has a docstring."""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = ["kv", "kv.backends", "queues", "queues.backends", "runtime", "sites", "workers"]


@pytest.mark.parametrize("package", PACKAGES)
def test_public_api_all_is_sorted_and_unique(package: str) -> None:
    names = importlib.import_module(package).__all__
    assert isinstance(names, list)
    assert names == sorted(names), f"{package}.__all__ is not sorted"
    assert len(names) == len(set(names)), f"{package}.__all__ has duplicates"


@pytest.mark.parametrize("package", PACKAGES)
def test_public_api_every_name_imports(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert missing == [], f"{package}: names in __all__ that do not import: {missing}"


@pytest.mark.parametrize("package", PACKAGES)
def test_public_api_names_have_docstrings(package: str) -> None:
    module = importlib.import_module(package)
    undocumented = [
        name
        for name in module.__all__
        if (inspect.isclass(obj := getattr(module, name)) or inspect.isfunction(obj))
        and not (obj.__doc__ or "").strip()
    ]
    assert undocumented == [], f"{package}: public names without a docstring: {undocumented}"


def test_public_api_kv_star_import_gives_the_contract_names() -> None:
    scope: dict[str, object] = {}
    exec("from kv import *", scope)
    for name in ("KVNamespace", "open_store", "KVError", "EdgeCache"):
        assert name in scope
