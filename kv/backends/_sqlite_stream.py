"""Streamed reads of large values for the SQLite store (private to ``sqlite.py``).

A stream reads the value with ``Connection.blobopen`` in chunks, so a 25 MiB value
is never in memory at once. The blob handle keeps its connection's read transaction
open: the stream sees one snapshot from the first chunk to the last, even if the key
is rewritten or deleted meanwhile (a later read sees the new value). Because a
connection's statements all share that snapshot, each stream borrows its own
connection from a small pool instead of pinning the store's reader.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable

from kv.backends import _sqlite_db as db
from kv.backends.base import StreamEntry


class StreamPool:
    """Idle read connections for streams, at most ``keep`` of them."""

    def __init__(self, opener: Callable[[], sqlite3.Connection], keep: int) -> None:
        self._opener = opener
        self._keep = keep
        self._idle: list[sqlite3.Connection] = []
        # Streams may be finalised on another thread (garbage collection).
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self) -> sqlite3.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._opener()

    def release(self, conn: sqlite3.Connection) -> None:
        """Return ``conn`` after ending its read transaction (or close it)."""
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            conn.close()
            return
        with self._lock:
            if not self._closed and len(self._idle) < self._keep:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close idle connections; streams still running close theirs when done."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def abandon(self) -> list[sqlite3.Connection]:
        """Forget every idle connection without closing it (after ``fork()``)."""
        with self._lock:
            idle, self._idle = self._idle, []
        return idle


class BlobChunks:
    """The chunks of one value, read from a blob handle on a borrowed connection.

    The connection goes back to the pool when the last chunk is read, on ``aclose()``,
    or when the iterator is garbage collected half-way.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        blob: sqlite3.Blob,
        chunk_size: int,
        release: Callable[[sqlite3.Connection], None],
        translate: Callable[[sqlite3.Error], Exception],
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._blob: sqlite3.Blob | None = blob
        self._chunk_size = chunk_size
        self._release = release
        self._translate = translate

    def __aiter__(self) -> BlobChunks:
        return self

    async def __anext__(self) -> bytes:
        blob = self._blob
        if blob is None:
            raise StopAsyncIteration
        try:
            data = blob.read(self._chunk_size)
        except sqlite3.Error as exc:
            self._finish()
            raise self._translate(exc) from exc
        if not data:
            self._finish()
            raise StopAsyncIteration
        if blob.tell() >= len(blob):
            self._finish()
        return data

    async def aclose(self) -> None:
        """Stop early and give the connection back."""
        self._finish()

    def _finish(self) -> None:
        blob, conn = self._blob, self._conn
        self._blob = self._conn = None
        if blob is not None:
            with contextlib.suppress(sqlite3.Error):
                blob.close()
        if conn is not None:
            self._release(conn)

    def __del__(self) -> None:
        # Interpreter shutdown may have torn down what _finish needs.
        with contextlib.suppress(Exception):
            self._finish()


class OneChunk:
    """A small value already read whole: at most one chunk."""

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def __aiter__(self) -> OneChunk:
        return self

    async def __anext__(self) -> bytes:
        data, self._data = self._data, None
        if not data:
            raise StopAsyncIteration
        return data

    async def aclose(self) -> None:
        self._data = None


def open_stream(
    pool: StreamPool,
    namespace: str,
    key: bytes,
    now: float,
    chunk_size: int,
    translate: Callable[[sqlite3.Error], Exception],
) -> StreamEntry | None:
    """Start streaming ``key`` from a snapshot on a pooled connection.

    ``None`` when the key is absent or expired in that snapshot.
    """
    conn = pool.acquire()
    try:
        conn.execute("BEGIN")
        row = conn.execute(db.GET_HEAD, (namespace, key)).fetchone()
        if row is None or (row[2] is not None and row[2] <= now):
            pool.release(conn)
            return None
        rowid, size, expiration, metadata = row
        blob = conn.blobopen("kv", "value", rowid, readonly=True)
    except sqlite3.Error as exc:
        pool.release(conn)
        raise translate(exc) from exc
    except BaseException:
        pool.release(conn)
        raise
    chunks = BlobChunks(conn, blob, chunk_size, pool.release, translate)
    return StreamEntry(size=size, chunks=chunks, expiration=expiration, metadata=metadata)
