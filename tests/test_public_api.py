"""Each package's public names: ``__all__`` is sorted, unique, every name imports, and
every public class and function has a docstring."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from pathlib import Path

import pytest

PACKAGES = [
    "kv",
    "kv.backends",
    "queues",
    "queues.backends",
    "runtime",
    "runtime.commands",
    "runtime.dev",
    "sites",
    "workers",
]

# What users need from each package, exactly (as httpx's test_exported_members.py does):
# a name added or dropped here is a decision about the public API, not a side effect.
EXPECTED = {
    "kv": {
        "EdgeCache",
        "KVError",
        "KVNamespace",
        "KeyItem",
        "ListResult",
        "OperationBudget",
        "StoreCorrupt",
        "StoreUnavailable",
        "ValueWithMetadata",
        "open_store",
        "operation_budget",
    },
    "kv.backends": {"Entry", "KeyInfo", "Store", "StreamEntry", "WriteOp", "open_store"},
    # The store protocol's types are public: other stores (Redis Cluster) and the admin
    # API build on them, and the consumer engine runs any async batch handler.
    "queues": {
        "BatchHandler",
        "BatchResult",
        "Claim",
        "Consumer",
        "ConsumerGroup",
        "ConsumerSettings",
        "Message",
        "MessageBatch",
        "NewMessage",
        "Queue",
        "QueueCounts",
        "QueueError",
        "QueueMetrics",
        "QueueStore",
        "Readiness",
        "Settlement",
        "StoredMessage",
        "check_queue_name",
        "open_queue_store",
    },
    "queues.backends": {
        "Claim",
        "NewMessage",
        "QueueCounts",
        "QueueStore",
        "Readiness",
        "Settlement",
        "StoredMessage",
        "open_queue_store",
    },
    "runtime": {
        "ConfigError",
        "Context",
        "EdgeworksApp",
        "Env",
        "LimitExceeded",
        "LoadedWorker",
        "RuntimeLimits",
        "ScheduledEvent",
        "WorkerError",
        "WorkerHost",
        "WorkerLoadError",
        "build_env",
        "create_app",
        "env_from_config",
        "fetch",
        "load_worker",
    },
    "runtime.commands": set(),
    "runtime.dev": {"DevOptions", "DevServer", "run_dev"},
    "sites": {
        "AssetHandler",
        "DeployError",
        "DeployResult",
        "FileChange",
        "Manifest",
        "ManifestEntry",
        "ProgressCallback",
        "SiteError",
        "current_manifest",
        "deploy",
    },
    "workers": set(),
}
SOURCE_ROOTS = ["cli.py", "kv", "queues", "runtime", "sites", "workers"]
REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("package", PACKAGES)
def test_public_api_exact_names(package: str) -> None:
    assert set(importlib.import_module(package).__all__) == EXPECTED[package]


def _sources() -> list[Path]:
    files: list[Path] = []
    for root in SOURCE_ROOTS:
        path = REPO / root
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [f for f in files if "templates" not in f.parts]


def test_public_api_no_private_name_imported_across_modules() -> None:
    """``from x import _name`` only for a private submodule of the importer's own package."""
    offenders = []
    for file in _sources():
        for node in ast.walk(ast.parse(file.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.module or node.level:
                continue
            for alias in node.names:
                if not alias.name.startswith("_") or alias.name.startswith("__"):
                    continue
                own_package = file.relative_to(REPO).parts[0] == node.module.split(".")[0]
                is_module = importlib.util.find_spec(f"{node.module}.{alias.name}") is not None
                if not (own_package and is_module):
                    offenders.append(
                        f"{file.relative_to(REPO)}: from {node.module} import {alias.name}"
                    )
    assert offenders == []


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
