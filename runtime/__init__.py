"""edgeworks runtime: load workers, build env and ctx, dispatch requests under limits.

Public names are imported lazily (``runtime.config`` users do not pay for
starlette), but every name in ``__all__`` imports:

>>> from runtime import WorkerHost, create_app, load_worker
>>> host = WorkerHost(load_worker("worker.py"))
>>> app = create_app(host)          # an ASGI app for uvicorn
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.app import EdgeworksApp, create_app
    from runtime.context import Context, fetch
    from runtime.env import Env, build_env, env_from_config
    from runtime.errors import ConfigError, LimitExceeded, WorkerError, WorkerLoadError
    from runtime.host import RuntimeLimits, ScheduledEvent, WorkerHost
    from runtime.loader import LoadedWorker, load_worker

__all__ = [
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
]

_WHERE = {
    "ConfigError": "runtime.errors",
    "Context": "runtime.context",
    "EdgeworksApp": "runtime.app",
    "Env": "runtime.env",
    "LimitExceeded": "runtime.errors",
    "LoadedWorker": "runtime.loader",
    "RuntimeLimits": "runtime.host",
    "ScheduledEvent": "runtime.host",
    "WorkerError": "runtime.errors",
    "WorkerHost": "runtime.host",
    "WorkerLoadError": "runtime.errors",
    "build_env": "runtime.env",
    "create_app": "runtime.app",
    "env_from_config": "runtime.env",
    "fetch": "runtime.context",
    "load_worker": "runtime.loader",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
