"""edgeworks' ``workers`` package: Cloudflare's Python Workers SDK surface, and the
workers that ship with edgeworks (``workers.static_site``, ``workers.blue_green``,
``workers.edge_auth``, loaded by path like any user worker).

A Cloudflare Python Workers project imports what it does on Cloudflare::

    from workers import Response, WorkerEntrypoint

    class Default(WorkerEntrypoint):
        async def fetch(self, request):
            return Response("Hello world!")

Every name is imported on first use (``import workers`` costs nothing at start),
so ``edgeworks serve`` pays only for what a worker uses. What maps to what:
docs/python-workers.md.
"""

# edgeworks-workers-sdk: the runtime looks for this line to tell this package from
# another distribution's ``workers`` (Cloudflare's workers-runtime-sdk) shadowing it.

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers._entrypoints import (
        DurableObject,
        WorkerEntrypoint,
        WorkflowEntrypoint,
        fetch,
        handler,
        import_from_javascript,
        wait_until,
        waitUntil,
    )
    from workers._formdata import Blob, File, FormData
    from workers._request import Request
    from workers._response import FetchResponse, Response

__all__ = [
    "Blob",
    "DurableObject",
    "FetchResponse",
    "File",
    "FormData",
    "Request",
    "Response",
    "WorkerEntrypoint",
    "WorkflowEntrypoint",
    "env",
    "fetch",
    "handler",
    "import_from_javascript",
    "waitUntil",
    "wait_until",
]

_WHERE = {
    "Blob": "workers._formdata",
    "DurableObject": "workers._entrypoints",
    "FetchResponse": "workers._response",
    "File": "workers._formdata",
    "FormData": "workers._formdata",
    "Request": "workers._request",
    "Response": "workers._response",
    "WorkerEntrypoint": "workers._entrypoints",
    "WorkflowEntrypoint": "workers._entrypoints",
    "fetch": "workers._entrypoints",
    "handler": "workers._entrypoints",
    "import_from_javascript": "workers._entrypoints",
    "waitUntil": "workers._entrypoints",
    "wait_until": "workers._entrypoints",
}


def __getattr__(name: str) -> Any:
    if name == "env":
        # The env of the Cloudflare-style worker loaded last (also at module top level).
        from runtime.env import cloudflare_env

        return cloudflare_env()
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'workers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
