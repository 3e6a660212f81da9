"""Building blocks the KV stores share with other packages (``queues``).

The queue stores keep their data next to KV's (the same SQLite file, the same
Redis), so they use the same machinery rather than copies of it:

- ``SQLiteWriter``: the one-thread, group-committing writer of the SQLite store
  (writes never block the event loop; queued writes share one transaction).
- ``sqlite_open_writer`` / ``sqlite_connect`` / ``sqlite_parse_url`` /
  ``sqlite_translate``: open a store file (creating folder, WAL and KV schema),
  open a reader, parse ``sqlite:///path?synchronous=..&timeout=..``, and map
  ``sqlite3`` errors to ``StoreUnavailable``/``StoreCorrupt``.
- ``normalize_store_url`` / ``open_registered``: a store URL (or bare path) and
  its scheme, and opening the backend a scheme registry names, as
  ``kv.open_store`` does, so ``[kv] store`` selects the queue store too.
- ``redis_client`` / ``RedisLoopClient`` / ``redis_errors`` / ``redact``: the
  Redis client with KV's timeouts and retry policy (one place to configure pools
  and clusters), that client per event loop, the mapping of "Redis cannot
  answer" to ``StoreUnavailable``, and URL masking.

>>> from kv.backends.shared import redis_client, redis_errors
>>> client = redis_client("redis://127.0.0.1:6379/0")     # connects on first use
"""

from __future__ import annotations

from kv.backends import normalize_store_url, open_registered
from kv.backends._redis_client import LoopClient as RedisLoopClient
from kv.backends._redis_client import new_client as redis_client
from kv.backends._redis_client import redact
from kv.backends._redis_client import unavailable_as_store_error as redis_errors
from kv.backends._sqlite_db import connect as sqlite_connect
from kv.backends._sqlite_db import open_writer as sqlite_open_writer
from kv.backends._sqlite_db import parse_url as sqlite_parse_url
from kv.backends._sqlite_db import translate as sqlite_translate
from kv.backends._sqlite_writer import Writer as SQLiteWriter

__all__ = [
    "RedisLoopClient",
    "SQLiteWriter",
    "normalize_store_url",
    "open_registered",
    "redact",
    "redis_client",
    "redis_errors",
    "sqlite_connect",
    "sqlite_open_writer",
    "sqlite_parse_url",
    "sqlite_translate",
]
