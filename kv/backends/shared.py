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
- ``RedisConnection`` / ``parse_redis_url`` / ``redis_errors`` / ``redact``: the
  bounded Redis connection of ``kv.backends.redis_client`` (one Redis or a Redis
  Cluster by the URL's scheme, ``max_connections`` calls in flight, KV's timeouts
  and retries, per event loop), URL validation, the mapping of "Redis cannot
  answer" to ``StoreUnavailable``, and URL masking.

>>> from kv.backends.shared import RedisConnection
>>> connection = RedisConnection("redis+cluster://10.0.0.1:7000")   # connects on first use
>>> async with connection.command() as client:
...     await client.ping()
"""

from __future__ import annotations

from kv.backends import normalize_store_url, open_registered
from kv.backends._sqlite_db import connect as sqlite_connect
from kv.backends._sqlite_db import parse_url as sqlite_parse_url
from kv.backends._sqlite_db import translate as sqlite_translate
from kv.backends._sqlite_setup import open_writer as sqlite_open_writer
from kv.backends._sqlite_writer import Writer as SQLiteWriter
from kv.backends.redis_client import RedisConnection, parse_redis_url, redact
from kv.backends.redis_client import unavailable_as_store_error as redis_errors

__all__ = [
    "RedisConnection",
    "SQLiteWriter",
    "normalize_store_url",
    "open_registered",
    "parse_redis_url",
    "redact",
    "redis_errors",
    "sqlite_connect",
    "sqlite_open_writer",
    "sqlite_parse_url",
    "sqlite_translate",
]
