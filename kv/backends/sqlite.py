"""The SQLite store: the embedded default. One file, WAL, shared safely by the
processes of one host.

- **Reads run inline** on the event loop on one reader connection: in WAL mode a
  reader never waits for a writer, and a primary-key lookup takes microseconds.
- **Writes run on one writer thread** with its own connection (``_sqlite_writer``),
  so a write waiting for another process's lock never stalls the loop; writes that
  queue up meanwhile are committed together. Every write transaction starts with
  ``BEGIN IMMEDIATE`` (retried with backoff), so "database is locked" never reaches
  the caller unless the lock is held for longer than the busy timeout, and then it
  is ``StoreUnavailable`` (a 503).
- **Durability**: a write is committed to the WAL before ``put`` returns, which
  survives ``kill -9`` of the process. ``synchronous=normal`` (default) may lose the
  last commits on power loss or an OS crash; ``?synchronous=full`` syncs the WAL on
  every commit and survives those too (if the disk honours fsync).
- **Expiry**: expired rows are never returned; they are reclaimed lazily when a read
  finds one and by a bounded sweep every ``sweep_interval`` seconds, always with a
  ``now`` that a namespace passed in, so no entry its clock still considers live is
  dropped (``_sqlite_expiry``).
- **Large values** go to SQLite as the caller's buffer (no copy here); from 1 MiB
  they are written in chunks into a ``zeroblob`` reservation, so SQLite makes no
  copy of its own either, and they stream out through ``blobopen`` chunk by chunk
  from one snapshot (``_sqlite_stream``).
- Schema, SQL, URL parsing and error mapping live in ``_sqlite_db``.
- Nothing touches the disk until the first call: then the folder, the file, WAL mode
  and the schema are created, safely when many processes open one new file at once
  (``_sqlite_setup``).
"""

from __future__ import annotations

import functools
import itertools
import os
import sqlite3
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

from kv.backends import _sqlite_db as db
from kv.backends._sqlite_expiry import Reclaimer
from kv.backends._sqlite_setup import open_writer
from kv.backends._sqlite_stream import OneChunk, StreamPool, open_stream
from kv.backends._sqlite_writer import Writer
from kv.backends.base import Buffer, Entry, KeyInfo, StoreBase, StreamEntry, WriteOp
from kv.errors import StoreCorrupt, StoreUnavailable
from kv.limits import (
    SQLITE_BLOB_WRITE_BYTES,
    SQLITE_BUSY_TIMEOUT,
    SQLITE_CACHE_KIB,
    SQLITE_PARAMS_PER_QUERY,
    SQLITE_STREAM_CACHE_KIB,
    SQLITE_STREAM_POOL,
    SQLITE_SWEEP_BATCH,
    SQLITE_SWEEP_INTERVAL,
    SQLITE_SYNCHRONOUS_MODES,
)

__all__ = ["SQLiteStore"]

# Stores of this process, so a fork() child drops the connections it inherited.
_STORES: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()
# Connections inherited across fork(): never used or closed in the child, whose copy of
# SQLite's lock bookkeeping describes the parent (sqlite.org/howtocorrupt.html,
# "Carrying an open database connection across a fork()").
_INHERITED: list[sqlite3.Connection] = []


class SQLiteStore(StoreBase):
    """A store in one SQLite file.

    >>> store = open_store("sqlite:///srv/app/.edgeworks/state/kv.sqlite3?synchronous=full")
    >>> store = SQLiteStore("/tmp/kv.sqlite3", busy_timeout=1.0)

    URL options: ``synchronous`` (``normal`` or ``full``) and ``timeout`` (seconds to
    wait for another process's lock, default 5).

    Reads run on the calling thread with one shared connection: use a store from one
    event loop thread at a time (one store per process, per loop). Close it with
    ``aclose()`` (or ``async with``): that ends its writer thread.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = SQLITE_SYNCHRONOUS_MODES[0],
        busy_timeout: float = SQLITE_BUSY_TIMEOUT,
        sweep_interval: float = SQLITE_SWEEP_INTERVAL,
        sweep_batch: int = SQLITE_SWEEP_BATCH,
        monotonic: Callable[[], float] = time.monotonic,
        url: str | None = None,
    ) -> None:
        mode = synchronous.lower()
        if mode not in SQLITE_SYNCHRONOUS_MODES:
            allowed = ", ".join(SQLITE_SYNCHRONOUS_MODES)
            raise ValueError(f"Invalid SQLite synchronous mode {synchronous!r}: allowed {allowed}")
        if busy_timeout < 0:
            raise ValueError(f"Invalid SQLite busy timeout {busy_timeout!r}: must be >= 0 seconds")
        self.path = Path(path).absolute()
        self.url = url or f"sqlite://{self.path}"
        self.synchronous = mode
        self.busy_timeout = busy_timeout
        self._reader: sqlite3.Connection | None = None
        # One cursor for every inline read (saves a cursor object per get). Every read
        # either fetches all rows or one row of a unique lookup, which resets the
        # statement: no read leaves the reader's snapshot pinned.
        self._reads: sqlite3.Cursor | None = None
        # The writer thread must not keep the store alive: it gets plain functions,
        # and a store that is garbage collected without aclose() stops its thread.
        self._writer = Writer(
            functools.partial(open_writer, self.path, busy_timeout, mode),
            busy_timeout,
            functools.partial(db.translate, path=self.path, busy_timeout=busy_timeout),
            self.url,
        )
        weakref.finalize(self, self._writer.stop)
        self._pool = StreamPool(self._open_streamer, SQLITE_STREAM_POOL)
        self._expiry = Reclaimer(self._writer, sweep_interval, sweep_batch, monotonic)
        self._closed = False
        _STORES.add(self)

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        """Parse ``sqlite:///abs/path[?synchronous=full&timeout=5]``; no I/O happens here.

        The path is everything after ``sqlite://``, so ``sqlite:///data/kv.sqlite3`` is
        ``/data/kv.sqlite3``: by URL rules a sqlite URL path is always absolute.
        """
        path, synchronous, timeout = db.parse_url(url)
        return cls(path, synchronous=synchronous, busy_timeout=timeout, url=url)

    @staticmethod
    def check_url(url: str) -> None:
        """``ValueError`` naming what is wrong with ``url`` (no I/O)."""
        db.parse_url(url)

    # --- reads (inline on the loop) --------------------------------------------

    async def get(self, namespace: str, key: str, now: float) -> Entry | None:
        """The live entry of ``key``, or ``None`` when absent or expired."""
        cur = self._reads if self._reads is not None else await self._open()
        raw = key.encode()
        try:
            row = cur.execute(db.GET, (SQLITE_BLOB_WRITE_BYTES, namespace, raw)).fetchone()
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        self._expiry.saw(namespace, now)
        if row is None:
            return None
        expiration, metadata, value = row
        if expiration is not None and expiration <= now:
            self._expiry.expired(namespace, raw, now)
            return None
        if value is None:  # a large value: read it in one copy
            large = self._read_large(namespace, raw, now)
            if large is None:
                return None
            expiration, metadata, value = large
        return Entry(value, expiration, metadata)

    async def get_many(self, namespace: str, keys: Sequence[str], now: float) -> list[Entry | None]:
        """Live entries of ``keys`` in the same order (``None`` for missing)."""
        cur = self._reads if self._reads is not None else await self._open()
        raws = [key.encode() for key in keys]
        unique = list(dict.fromkeys(raws))
        found: dict[bytes, Entry] = {}
        try:
            for start in range(0, len(unique), SQLITE_PARAMS_PER_QUERY):
                part = unique[start : start + SQLITE_PARAMS_PER_QUERY]
                params = (SQLITE_BLOB_WRITE_BYTES, namespace, *part)
                rows = cur.execute(db.get_many_sql(len(part)), params).fetchall()
                for raw, expiration, metadata, value in rows:
                    if expiration is not None and expiration <= now:
                        self._expiry.expired(namespace, raw, now)
                        continue
                    if value is None:
                        large = self._read_large(namespace, raw, now)
                        if large is None:
                            continue
                        expiration, metadata, value = large
                    found[raw] = Entry(value, expiration, metadata)
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        self._expiry.saw(namespace, now)
        return [found.get(raw) for raw in raws]

    async def stream(
        self, namespace: str, key: str, now: float, chunk_size: int
    ) -> StreamEntry | None:
        """The live entry of ``key`` as chunks of at most ``chunk_size`` bytes.

        A value of at most one chunk is read whole; a larger one streams from a
        snapshot, so the chunks always belong to one version of the value.
        """
        cur = self._reads if self._reads is not None else await self._open()
        raw = key.encode()
        try:
            row = cur.execute(db.GET_SMALL, (chunk_size, namespace, raw)).fetchone()
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        self._expiry.saw(namespace, now)
        if row is None:
            return None
        size, expiration, metadata, value = row
        if expiration is not None and expiration <= now:
            self._expiry.expired(namespace, raw, now)
            return None
        if value is not None:
            return StreamEntry(size, OneChunk(value), expiration, metadata)
        return open_stream(self._pool, namespace, raw, now, chunk_size, self._translate)

    async def list_keys(
        self,
        namespace: str,
        prefix: str,
        start_after: str | None,
        limit: int,
        now: float,
    ) -> list[KeyInfo]:
        """Up to ``limit`` live keys starting with ``prefix`` and ordered after
        ``start_after`` (exclusive) by UTF-8 bytes: one range of the primary key index."""
        if limit <= 0:
            return []
        cur = self._reads if self._reads is not None else await self._open()
        after = None if start_after is None else start_after.encode()
        sql, params = db.list_query(namespace, prefix.encode(), after, limit, now)
        try:
            rows = cur.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        self._expiry.saw(namespace, now)
        return [KeyInfo(raw.decode(), expiration, metadata) for raw, expiration, metadata in rows]

    async def list_namespaces(self) -> list[str]:
        """Ids of namespaces that were created or hold keys, sorted.

        Namespaces holding keys are found by skipping through the primary key index
        (one seek per namespace), not by scanning every key.
        """
        cur = self._reads if self._reads is not None else await self._open()
        try:
            names = {row[0] for row in cur.execute(db.CREATED_NAMESPACES).fetchall()}
            row = cur.execute(db.NEXT_NAMESPACE, ("",)).fetchone()
            while row is not None:
                names.add(row[0])
                row = cur.execute(db.NEXT_NAMESPACE, (row[0],)).fetchone()
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return sorted(names)

    # --- writes (on the writer thread) -------------------------------------------

    async def put(
        self,
        namespace: str,
        key: str,
        value: Buffer,
        expiration: float | None,
        metadata: str | None,
    ) -> None:
        """Replace the whole entry; committed (durable) when this returns."""
        raw = key.encode()
        if db.is_large(value):
            await self._write(
                lambda conn: db.write_large(conn, namespace, raw, expiration, metadata, value)
            )
        else:
            params = (namespace, raw, expiration, metadata, value)
            await self._write(lambda conn: conn.execute(db.UPSERT, params), (db.UPSERT, params))

    async def delete(self, namespace: str, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        params = (namespace, key.encode())
        await self._write(lambda conn: conn.execute(db.DELETE, params), (db.DELETE, params))

    async def compare_and_swap(
        self,
        namespace: str,
        key: str,
        expected: bytes | None,
        value: Buffer | None,
        now: float,
    ) -> bool:
        """Replace (or delete) ``key`` if its live value is ``expected``: the look and
        the write share one ``BEGIN IMMEDIATE`` transaction, so no other process's
        write can come between them."""
        raw = key.encode()

        def swap(conn: sqlite3.Connection) -> bool:
            row = conn.execute(db.CURRENT, (namespace, raw)).fetchone()
            live = row is not None and (row[0] is None or row[0] > now)
            if (bytes(row[1]) if live else None) != expected:
                return False
            if value is None:
                conn.execute(db.DELETE, (namespace, raw))
            else:
                conn.execute(db.UPSERT, (namespace, raw, None, None, value))
            return True

        if self._reads is None:
            await self._open()
        swapped: bool = await self._writer.run(swap)
        self._expiry.tick()
        return swapped

    async def write_batch(self, namespace: str, ops: Sequence[WriteOp]) -> None:
        """Apply every op in one transaction (all or nothing), in order.

        Runs of deletes and runs of puts each go to SQLite as one ``executemany``;
        large values are written in chunks, one by one.
        """
        if not ops:
            return

        def kind(op: WriteOp) -> int:
            return 0 if op.value is None else 2 if db.is_large(op.value) else 1

        def apply(conn: sqlite3.Connection) -> None:
            for how, run in itertools.groupby(ops, key=kind):
                if how == 0:
                    conn.executemany(db.DELETE, ((namespace, op.key.encode()) for op in run))
                elif how == 1:
                    conn.executemany(
                        db.UPSERT,
                        (
                            (namespace, op.key.encode(), op.expiration, op.metadata, op.value)
                            for op in run
                        ),
                    )
                else:
                    for op in run:
                        assert op.value is not None
                        db.write_large(
                            conn, namespace, op.key.encode(), op.expiration, op.metadata, op.value
                        )

        await self._write(apply)

    async def create_namespace(self, namespace: str) -> None:
        """Register an empty namespace (idempotent)."""
        await self._write(lambda conn: conn.execute(db.CREATE_NAMESPACE, (namespace,)))

    async def delete_namespace(self, namespace: str) -> None:
        """Remove a namespace and every key in it, in one transaction."""

        def drop(conn: sqlite3.Connection) -> None:
            conn.execute(db.DROP_NAMESPACE_KEYS, (namespace,))
            conn.execute(db.DROP_NAMESPACE, (namespace,))

        await self._write(drop)

    # --- lifecycle ---------------------------------------------------------------

    async def check(self) -> None:
        """Open the file, run ``PRAGMA quick_check`` and take the write lock once.

        Raises ``StoreCorrupt`` (naming the path and what is wrong) for a damaged file,
        a file that is not a SQLite database, or a database that is not a KV store;
        ``StoreUnavailable`` when another process holds the write lock for longer than
        the busy timeout or the file cannot be opened or written.
        """
        await self._open()

        def quick_check(conn: sqlite3.Connection) -> None:
            problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                shown = "; ".join(problems[:5])
                more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
                raise StoreCorrupt(f"{self.path} failed SQLite's quick check: {shown}{more}")

        await self._writer.run(quick_check, transaction=False)
        # An empty transaction: proves the write lock can be taken within the timeout.
        await self._write(lambda conn: None)

    async def aclose(self) -> None:
        """Finish queued writes, then close every connection and the writer thread."""
        if self._closed:
            return
        self._closed = True
        _STORES.discard(self)
        reader, self._reader, self._reads = self._reader, None, None
        if reader is not None:
            reader.close()
        self._pool.close()
        await self._writer.close()

    # --- helpers -------------------------------------------------------------------

    async def _open(self) -> sqlite3.Cursor:
        """Open the store on first use: the writer (folder, WAL, schema), then the reader.

        A failure (corrupt file, lock timeout) is raised to this caller and tried
        again by the next one: the file may have been fixed meanwhile.
        """
        if self._closed:
            raise StoreUnavailable(f"{self.url} is closed")
        await self._writer.run(lambda conn: None, transaction=False)
        if self._reads is None:
            self._reader = self._open_reader()
            self._reads = self._reader.cursor()
        return self._reads

    def _open_reader(self, cache_kib: int = SQLITE_CACHE_KIB) -> sqlite3.Connection:
        try:
            conn = db.connect(self.path, self.busy_timeout, cache_kib=cache_kib)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        return conn

    def _open_streamer(self) -> sqlite3.Connection:
        # A stream reads each page once: a small cache keeps many concurrent streams
        # from holding a full-size page cache each.
        return self._open_reader(SQLITE_STREAM_CACHE_KIB)

    async def _write(
        self,
        work: Callable[[sqlite3.Connection], object],
        statement: tuple[str, Sequence[object]] | None = None,
    ) -> None:
        """Run ``work`` in a ``BEGIN IMMEDIATE`` transaction; return once committed.

        ``statement``: the one statement ``work`` runs, so that, alone in its group,
        it can run in autocommit mode (same lock, same durability, fewer round trips).
        """
        if self._reads is None:
            await self._open()
        await self._writer.run(work, statement=statement)
        self._expiry.tick()

    def _read_large(
        self, namespace: str, raw: bytes, now: float
    ) -> tuple[float | None, str | None, bytes] | None:
        """(expiration, metadata, value) of a large value, read inline on a streaming
        connection: its small page cache keeps the value's pages from evicting the
        reader's working set."""
        conn = self._pool.acquire()
        try:
            return db.read_large(conn, namespace, raw, now)
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        finally:
            self._pool.release(conn)

    def _translate(self, exc: sqlite3.Error) -> Exception:
        return db.translate(exc, self.path, self.busy_timeout)

    def _abandon_after_fork(self) -> None:
        """In a fork() child: forget the parent's connections and writer thread."""
        for conn in (self._reader, self._writer.abandon(), *self._pool.abandon()):
            if conn is not None:
                _INHERITED.append(conn)
        self._reader = self._reads = None
        self._expiry.forget()


def _after_fork_in_child() -> None:
    for store in list(_STORES):
        store._abandon_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
