"""edgeworks KV: namespaces with Workers KV semantics over pluggable stores.

>>> from kv import KVNamespace, open_store
>>> store = open_store("sqlite:///path/kv.sqlite3")   # or "memory://", "redis://host:6379/0"
>>> ns = KVNamespace(store, "my-namespace")
>>> await ns.put("k", "v")
>>> await store.aclose()

Errors are ``KVError`` (with ``status`` and ``operation``); the store protocol and
``open_store`` live in ``kv.backends``; every limit and message in ``kv.limits``.
"""

from __future__ import annotations

from kv._namespace import KVNamespace
from kv._results import KeyItem, ListResult, ValueWithMetadata
from kv._usage import OperationBudget, operation_budget
from kv.backends import Entry, KeyInfo, Store, StreamEntry, WriteOp, open_store
from kv.cache import EdgeCache
from kv.errors import KVError, StoreCorrupt, StoreUnavailable

__all__ = [
    "EdgeCache",
    "Entry",
    "KVError",
    "KVNamespace",
    "KeyInfo",
    "KeyItem",
    "ListResult",
    "OperationBudget",
    "Store",
    "StoreCorrupt",
    "StoreUnavailable",
    "StreamEntry",
    "ValueWithMetadata",
    "WriteOp",
    "open_store",
    "operation_budget",
]
