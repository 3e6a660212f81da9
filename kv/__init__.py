"""edgeworks KV: namespaces with Workers KV semantics over pluggable stores.

>>> from kv import KVNamespace, open_store
>>> store = open_store("sqlite:///path/kv.sqlite3")   # or "memory://", "redis://host:6379/0"
>>> ns = KVNamespace(store, "my-namespace")
>>> await ns.put("k", "v")
>>> await store.aclose()

Errors are ``KVError`` (with ``status`` and ``operation``); the store protocol for
backend implementers (``Store``, ``Entry``, ``WriteOp``, ...) lives in ``kv.backends``;
every limit and message in ``kv.limits``.
"""

from __future__ import annotations

from kv._namespace import KVNamespace
from kv._results import KeyItem, ListResult, ValueWithMetadata
from kv._usage import OperationBudget, operation_budget
from kv.backends import open_store
from kv.cache import EdgeCache
from kv.errors import KVError, StoreCorrupt, StoreUnavailable

__all__ = [
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
]
