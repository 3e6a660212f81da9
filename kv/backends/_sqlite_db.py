"""SQL, schema and connection helpers of the SQLite store (private to ``sqlite.py``).

Layout of one store file::

    kv          (ns TEXT, key BLOB, expiration REAL NULL, metadata TEXT NULL, value BLOB)
                PRIMARY KEY (ns, key); a rowid table, because ``Connection.blobopen``
                (streamed reads) needs a rowid. ``value`` is the last column so that
                reading ``expiration``/``metadata`` never walks a large value's
                overflow pages.
    kv_expiration  partial index (ns, expiration) WHERE expiration IS NOT NULL: the sweep
    namespaces  (ns TEXT PRIMARY KEY) WITHOUT ROWID: namespaces created while empty

Keys are stored as their UTF-8 bytes, so the BLOB order (memcmp) is the UTF-8 byte
order that ``list`` promises, and a prefix is a range of the primary key index.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, urlsplit

from kv.backends.base import Buffer
from kv.errors import StoreCorrupt, StoreUnavailable
from kv.limits import (
    SQLITE_BLOB_CHUNK_BYTES,
    SQLITE_BLOB_WRITE_BYTES,
    SQLITE_BUSY_TIMEOUT,
    SQLITE_CACHE_KIB,
    SQLITE_RETRY_BACKOFF_BASE,
    SQLITE_RETRY_BACKOFF_CAP,
    SQLITE_SYNCHRONOUS_MODES,
)

# "EWKV": marks a file as an edgeworks KV store (PRAGMA application_id).
APPLICATION_ID = 0x45574B56
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    ns TEXT NOT NULL,
    key BLOB NOT NULL,
    expiration REAL,
    metadata TEXT,
    value BLOB NOT NULL,
    PRIMARY KEY (ns, key)
);
CREATE INDEX IF NOT EXISTS kv_expiration ON kv (ns, expiration) WHERE expiration IS NOT NULL;
CREATE TABLE IF NOT EXISTS namespaces (ns TEXT PRIMARY KEY) WITHOUT ROWID;
"""

# The value itself only below the large-value size: a large one is read with one
# copy through a blob handle (``read_large``) instead of a SQLite copy plus ours.
GET = (
    "SELECT expiration, metadata, CASE WHEN length(value) < ? THEN value END"
    " FROM kv WHERE ns = ? AND key = ?"
)
# A stream's first look: the value itself only when it fits in one chunk
# (length() of a BLOB reads the row header, not the value).
GET_SMALL = (
    "SELECT length(value), expiration, metadata,"
    " CASE WHEN length(value) <= ? THEN value END FROM kv WHERE ns = ? AND key = ?"
)
GET_HEAD = "SELECT rowid, length(value), expiration, metadata FROM kv WHERE ns = ? AND key = ?"
UPSERT = (
    "INSERT INTO kv (ns, key, expiration, metadata, value) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (ns, key) DO UPDATE SET expiration = excluded.expiration,"
    " metadata = excluded.metadata, value = excluded.value"
)
# A large value: reserve its size, then fill it in chunks through a blob handle.
UPSERT_ZEROBLOB = (
    "INSERT INTO kv (ns, key, expiration, metadata, value) VALUES (?, ?, ?, ?, zeroblob(?))"
    " ON CONFLICT (ns, key) DO UPDATE SET expiration = excluded.expiration,"
    " metadata = excluded.metadata, value = excluded.value"
)
ROWID = "SELECT rowid FROM kv WHERE ns = ? AND key = ?"
DELETE = "DELETE FROM kv WHERE ns = ? AND key = ?"
# compare_and_swap's look at the current entry (inside its write transaction).
CURRENT = "SELECT expiration, value FROM kv WHERE ns = ? AND key = ?"
# Reclaims an entry only if it is still the expired one: a newer put may have replaced it.
DELETE_EXPIRED = "DELETE FROM kv WHERE ns = ? AND key = ? AND expiration <= ?"
SWEEP = (
    "DELETE FROM kv WHERE rowid IN (SELECT rowid FROM kv WHERE ns = ? AND expiration <= ? LIMIT ?)"
)
NEXT_NAMESPACE = "SELECT ns FROM kv WHERE ns > ? ORDER BY ns LIMIT 1"
CREATED_NAMESPACES = "SELECT ns FROM namespaces"
CREATE_NAMESPACE = "INSERT OR IGNORE INTO namespaces (ns) VALUES (?)"
DROP_NAMESPACE_KEYS = "DELETE FROM kv WHERE ns = ?"
DROP_NAMESPACE = "DELETE FROM namespaces WHERE ns = ?"

_T = TypeVar("_T")

_LIVE = "(expiration IS NULL OR expiration > ?)"


def parse_url(url: str) -> tuple[str, str, float]:
    """``sqlite:///abs/path[?synchronous=full&timeout=5]`` -> (path, synchronous, timeout).

    The path is everything after ``sqlite://``, so ``sqlite:///data/kv.sqlite3`` is
    ``/data/kv.sqlite3``: by URL rules a sqlite URL path is always absolute.
    """
    # The path is taken literally (no percent-decoding, no #fragment): the URLs the
    # CLI and the config build by pasting a file path must name exactly that file.
    parts = urlsplit(url, allow_fragments=False)
    if parts.scheme != "sqlite":
        raise ValueError(f"Not a SQLite store URL: {url!r} (expected sqlite:///path)")
    if parts.netloc not in ("", "localhost"):
        raise ValueError(
            f"Invalid SQLite store URL {url!r}: it names host {parts.netloc!r}; "
            "use three slashes, sqlite:///path/to/kv.sqlite3"
        )
    path = parts.path
    if path.strip("/") == "":
        raise ValueError(f"Invalid SQLite store URL {url!r}: it names no file")
    options: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in ("synchronous", "timeout"):
            raise ValueError(
                f"Unknown SQLite store option {name!r} in {url!r}: allowed synchronous, timeout"
            )
        options[name] = value
    try:
        timeout = float(options.get("timeout", SQLITE_BUSY_TIMEOUT))
    except ValueError:
        timeout = -1.0
    if not 0 <= timeout < float("inf"):
        raise ValueError(
            f"Invalid SQLite store option timeout={options['timeout']!r} in {url!r}: "
            "seconds of at least 0, e.g. timeout=5"
        )
    synchronous = options.get("synchronous", SQLITE_SYNCHRONOUS_MODES[0])
    if synchronous.lower() not in SQLITE_SYNCHRONOUS_MODES:
        raise ValueError(
            f"Invalid SQLite store option synchronous={synchronous!r} in {url!r}: "
            f"allowed {', '.join(SQLITE_SYNCHRONOUS_MODES)}"
        )
    return path, synchronous, timeout


def byte_view(value: Buffer) -> memoryview:
    """``value`` as a flat view of bytes, without copying when it is contiguous."""
    view = memoryview(value)
    if view.format == "B" and view.ndim == 1:
        return view
    if view.c_contiguous:
        return view.cast("B")
    return memoryview(view.tobytes())


def is_large(value: Buffer) -> bool:
    """True for values written in chunks (see ``write_large``)."""
    return memoryview(value).nbytes >= SQLITE_BLOB_WRITE_BYTES


def write_large(
    conn: sqlite3.Connection,
    namespace: str,
    key: bytes,
    expiration: float | None,
    metadata: str | None,
    value: Buffer,
) -> None:
    """Upsert a large value in chunks, inside the caller's transaction.

    Binding a 25 MiB buffer makes SQLite copy it and build a record around it
    (two more copies of the value); a ``zeroblob`` reservation filled through a
    blob handle keeps only the caller's buffer plus the page cache in memory.
    """
    view = byte_view(value)
    conn.execute(UPSERT_ZEROBLOB, (namespace, key, expiration, metadata, len(view)))
    rowid = conn.execute(ROWID, (namespace, key)).fetchone()[0]
    with conn.blobopen("kv", "value", rowid) as blob:
        for start in range(0, len(view), SQLITE_BLOB_CHUNK_BYTES):
            blob.write(view[start : start + SQLITE_BLOB_CHUNK_BYTES])


def read_large(
    conn: sqlite3.Connection, namespace: str, key: bytes, now: float
) -> tuple[float | None, str | None, bytes] | None:
    """(expiration, metadata, value) of a large value, read in one copy; ``None``
    when the key is gone or expired by the time it is read.

    One read transaction covers the lookup and the blob handle, so the bytes belong
    to the row that was looked up (a rowid may be reused once its row is deleted).
    """
    conn.execute("BEGIN")
    try:
        row = conn.execute(GET_HEAD, (namespace, key)).fetchone()
        if row is None or (row[2] is not None and row[2] <= now):
            return None
        with conn.blobopen("kv", "value", row[0], readonly=True) as blob:
            return row[2], row[3], blob.read()
    finally:
        conn.execute("COMMIT")


def get_many_sql(count: int) -> str:
    """A bulk get of ``count`` keys in one query (the primary key index, once per key)."""
    marks = ", ".join("?" * count)
    return (
        "SELECT key, expiration, metadata, CASE WHEN length(value) < ? THEN value END"
        f" FROM kv WHERE ns = ? AND key IN ({marks})"
    )


def list_query(
    namespace: str, prefix: bytes, start_after: bytes | None, limit: int, now: float
) -> tuple[str, tuple[object, ...]]:
    """The SQL and parameters of one list page: a range of the primary key index.

    The lower bound is whichever of ``prefix`` (inclusive) and ``start_after``
    (exclusive) is larger, computed here so SQLite sees exactly one lower bound and
    seeks to it instead of scanning from the other. Expired rows are skipped in SQL,
    so ``LIMIT`` counts live rows only.
    """
    sql = "SELECT key, expiration, metadata FROM kv WHERE ns = ?"
    params: list[object] = [namespace]
    if start_after is not None and start_after >= prefix:
        sql += " AND key > ?"
        params.append(start_after)
    else:
        sql += " AND key >= ?"
        params.append(prefix)
    upper = prefix_upper_bound(prefix)
    if upper is not None:
        sql += " AND key < ?"
        params.append(upper)
    sql += f" AND {_LIVE} ORDER BY key LIMIT ?"
    params += [now, limit]
    return sql, tuple(params)


def prefix_upper_bound(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``,
    or ``None`` when there is none (empty prefix, or only 0xFF bytes).

    >>> prefix_upper_bound(b"a/")
    b'a0'
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def connect(
    path: Path,
    busy_timeout: float,
    *,
    synchronous: str = "normal",
    cache_kib: int = SQLITE_CACHE_KIB,
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from any thread.

    ``check_same_thread=False`` because the store hands connections between the event
    loop thread and finalizers; the store itself never uses one connection from two
    threads at once (the writer's lives on the writer thread, the reader's on the loop).
    """
    conn = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute(f"PRAGMA cache_size = -{cache_kib}")
        conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    except BaseException:
        conn.close()
        raise
    return conn


def begin_immediate(conn: sqlite3.Connection, busy_timeout: float) -> None:
    """Take the write lock now (``BEGIN IMMEDIATE``), retrying with backoff.

    Taking the lock up front means a transaction never has to upgrade a read lock,
    the one case where WAL returns ``SQLITE_BUSY`` without waiting.
    """
    execute_retrying(conn, "BEGIN IMMEDIATE", (), busy_timeout)


def execute_retrying(
    conn: sqlite3.Connection, sql: str, params: Sequence[object], busy_timeout: float
) -> None:
    """Execute a statement that takes the write lock, retrying while it is busy
    (see ``retry_busy``). A statement that failed with ``SQLITE_BUSY`` changed
    nothing, so a retry is safe."""
    retry_busy(lambda: conn.execute(sql, params), busy_timeout)


class LockTimeout(sqlite3.OperationalError):
    """A lock wait gave up: ``waited`` is how long it really waited, in seconds."""

    def __init__(self, cause: sqlite3.Error, waited: float) -> None:
        super().__init__(str(cause))
        self.sqlite_errorcode = getattr(cause, "sqlite_errorcode", 5)
        self.waited = waited


def retry_busy(
    attempt: Callable[[], _T], busy_timeout: float, *, started: float | None = None
) -> _T:
    """``attempt()``, retried while SQLite answers busy, until ``busy_timeout`` passed.

    SQLite's busy handler waits up to ``busy_timeout`` inside each attempt; attempts
    that fail at once (a busy snapshot, WAL setup or recovery by another process)
    are retried with jittered exponential backoff until ``busy_timeout`` has passed
    since the first (or since ``started``, a ``time.monotonic()`` reading). Giving
    up raises ``LockTimeout`` with the time really waited.
    ``attempt`` must change nothing when it fails busy. Runs on the writer thread:
    sleeping here never stalls the event loop.
    """
    if started is None:
        started = time.monotonic()
    deadline = started + busy_timeout
    pause = SQLITE_RETRY_BACKOFF_BASE
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            if time.monotonic() + pause > deadline:
                raise LockTimeout(exc, time.monotonic() - started) from exc
        time.sleep(pause * (0.5 + random.random() / 2))
        pause = min(pause * 2, SQLITE_RETRY_BACKOFF_CAP)


# Primary result codes (the low byte of an extended code), from sqlite3.h.
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
# SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_PROTOCOL
_UNAVAILABLE_CODES = {3, 8, 10, 13, 14, 15}


def is_busy(exc: sqlite3.Error) -> bool:
    """True when ``exc`` means another connection holds a lock (retryable)."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _BUSY_CODES


def translate(exc: sqlite3.Error, path: Path, busy_timeout: float) -> Exception:
    """The store error for a ``sqlite3`` error: what was wrong, with the path.

    Locks held too long and I/O trouble are ``StoreUnavailable`` (the namespace
    answers 503); a damaged file is ``StoreCorrupt``; anything else (a bug of ours)
    is returned unchanged.
    """
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if isinstance(exc, LockTimeout):
        return StoreUnavailable(
            f"{path} stayed locked by another connection: gave up after {exc.waited:.2f} s "
            f"(limit {busy_timeout:g} s, the store URL's ?timeout=) ({exc}); another "
            "process holds a long write transaction"
        )
    if code in _BUSY_CODES:  # not retried here: how long SQLite waited is unknown
        return StoreUnavailable(f"{path} is locked by another connection ({exc})")
    if code in _CORRUPT_CODES:
        return StoreCorrupt(f"{path} is damaged or not a SQLite database: {exc}")
    if code in _UNAVAILABLE_CODES:
        return StoreUnavailable(f"{path}: {exc}")
    return exc
