"""The SQLite queue store: queue tables in the KV store's file (one state file).

Layout (beside KV's tables, created on first use)::

    queue_messages  (seq INTEGER PRIMARY KEY, queue, id, content_type, timestamp,
                     visible_at, attempts, lease NULL, size, body)
                    UNIQUE (queue, id); index (queue, visible_at) for claims;
                    index (timestamp) for the retention sweep
    queue_batches   (queue, token, deadline) PRIMARY KEY (queue, token): unexpired
                    leased batches, so max_concurrency holds across processes
    queue_names     (queue PRIMARY KEY): every queue that ever held a message

Leases use the ``visible_at`` column: a claim sets it to the lease deadline, so
a batch whose process died is ready again when the deadline passes, with no
separate recovery step. A claim is one ``UPDATE ... RETURNING``.

Writes run on KV's writer thread class (``kv.backends.shared.SQLiteWriter``):
never on the event loop, group-committed with whatever else is queued, durable
when they return. Reads (readiness, counts) run inline on a WAL reader.
"""

from __future__ import annotations

import functools
import sqlite3
import uuid
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from kv.backends.shared import (
    SQLiteWriter,
    sqlite_connect,
    sqlite_open_writer,
    sqlite_parse_url,
    sqlite_translate,
)
from kv.errors import StoreUnavailable
from queues.backends.base import (
    Claim,
    NewMessage,
    QueueCounts,
    QueueStoreBase,
    Readiness,
    Settlement,
    StoredMessage,
)

_T = TypeVar("_T")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS queue_messages (
        seq INTEGER PRIMARY KEY,
        queue TEXT NOT NULL,
        id TEXT NOT NULL,
        content_type TEXT NOT NULL,
        timestamp REAL NOT NULL,
        visible_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease TEXT,
        size INTEGER NOT NULL,
        body BLOB NOT NULL
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS queue_messages_id ON queue_messages (queue, id)",
    "CREATE INDEX IF NOT EXISTS queue_messages_visible ON queue_messages (queue, visible_at)",
    "CREATE INDEX IF NOT EXISTS queue_messages_timestamp ON queue_messages (timestamp)",
    """CREATE TABLE IF NOT EXISTS queue_batches (
        queue TEXT NOT NULL, token TEXT NOT NULL, deadline REAL NOT NULL,
        PRIMARY KEY (queue, token)
    ) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS queue_names (queue TEXT PRIMARY KEY) WITHOUT ROWID",
)

INSERT = (
    "INSERT INTO queue_messages (queue, id, content_type, timestamp, visible_at, size, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
REGISTER = "INSERT OR IGNORE INTO queue_names (queue) VALUES (?)"
EXPIRE_BATCHES = "DELETE FROM queue_batches WHERE queue = ? AND deadline <= ?"
COUNT_BATCHES = "SELECT count(*) FROM queue_batches WHERE queue = ?"
ADD_BATCH = "INSERT INTO queue_batches (queue, token, deadline) VALUES (?, ?, ?)"
DROP_BATCH = "DELETE FROM queue_batches WHERE queue = ? AND token = ?"
CLAIM = (
    "UPDATE queue_messages SET attempts = attempts + 1, lease = ?, visible_at = ?"
    " WHERE seq IN (SELECT seq FROM queue_messages WHERE queue = ? AND visible_at <= ?"
    " ORDER BY visible_at, seq LIMIT ?)"
    " RETURNING seq, id, body, content_type, timestamp, attempts"
)
ACK = "DELETE FROM queue_messages WHERE seq = ?"
RETRY = "UPDATE queue_messages SET lease = NULL, visible_at = ? WHERE seq = ? AND lease = ?"
# Into another queue, ready at ARG 2, attempts from zero: a dead letter or retry-dead.
COPY_ONE = (
    "INSERT OR REPLACE INTO queue_messages"
    " (queue, id, content_type, timestamp, visible_at, size, body)"
    " SELECT ?, id, content_type, timestamp, ?, size, body FROM queue_messages WHERE seq = ?"
)
COPY_ALL = (
    "INSERT OR REPLACE INTO queue_messages"
    " (queue, id, content_type, timestamp, visible_at, size, body)"
    " SELECT ?, id, content_type, timestamp, ?, size, body FROM queue_messages"
    " WHERE queue = ? ORDER BY seq"
)
PURGE = "DELETE FROM queue_messages WHERE queue = ?"
PURGE_BATCHES = "DELETE FROM queue_batches WHERE queue = ?"
SWEEP = (
    "DELETE FROM queue_messages WHERE seq IN"
    " (SELECT seq FROM queue_messages WHERE timestamp < ? LIMIT ?)"
)
READINESS = (
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM queue_messages"
    "         WHERE queue = ?1 AND visible_at <= ?2 LIMIT ?3)),"
    " (SELECT min(visible_at) FROM queue_messages WHERE queue = ?1 AND visible_at <= ?2),"
    " (SELECT min(visible_at) FROM queue_messages WHERE queue = ?1 AND visible_at > ?2)"
)
COUNTS = (
    "SELECT count(*), total(visible_at <= ?2),"
    " total(visible_at > ?2 AND lease IS NOT NULL), total(size), min(timestamp)"
    " FROM queue_messages WHERE queue = ?1"
)
NAMES = "SELECT queue FROM queue_names UNION SELECT DISTINCT queue FROM queue_messages"


def _open_writer(path: Path, busy_timeout: float, synchronous: str) -> sqlite3.Connection:
    """KV's writer connection (folder, WAL, KV schema), then the queue tables."""
    conn = sqlite_open_writer(path, busy_timeout, synchronous)
    try:
        for statement in SCHEMA:
            conn.execute(statement)
    except BaseException:
        conn.close()
        raise
    return conn


class SQLiteQueueStore(QueueStoreBase):
    """Queues in a SQLite file, usually the KV store's: ``sqlite:///path/kv.sqlite3``.

    >>> store = SQLiteQueueStore.from_url("sqlite:///tmp/kv.sqlite3")   # no I/O yet
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "normal",
        busy_timeout: float = 5.0,
        url: str | None = None,
    ) -> None:
        self.path = Path(path).absolute()
        self.url = url or f"sqlite://{self.path}"
        self.busy_timeout = busy_timeout
        self._translate_error = functools.partial(
            sqlite_translate, path=self.path, busy_timeout=busy_timeout
        )
        self._writer = SQLiteWriter(
            functools.partial(_open_writer, self.path, busy_timeout, synchronous),
            busy_timeout,
            self._translate_error,
            self.url,
        )
        weakref.finalize(self, self._writer.stop)
        self._reader: sqlite3.Connection | None = None
        self._registered: set[str] = set()
        self._closed = False

    @classmethod
    def from_url(cls, url: str) -> SQLiteQueueStore:
        path, synchronous, timeout = sqlite_parse_url(url)
        return cls(path, synchronous=synchronous, busy_timeout=timeout, url=url)

    # --- writes -----------------------------------------------------------------------

    async def send(self, queue: str, messages: Sequence[NewMessage]) -> None:
        rows = [
            (queue, m.id, m.content_type, m.timestamp, m.visible_at, len(m.body), m.body)
            for m in messages
        ]
        register = queue not in self._registered
        if len(rows) == 1 and not register:
            # One statement: alone in its group it runs in autocommit mode.
            await self._write(lambda conn: conn.execute(INSERT, rows[0]), (INSERT, rows[0]))
            return

        def insert(conn: sqlite3.Connection) -> None:
            conn.executemany(INSERT, rows)
            if register:
                conn.execute(REGISTER, (queue,))

        await self._write(insert)
        self._registered.add(queue)

    async def claim(
        self, queue: str, limit: int, now: float, lease_seconds: float, max_concurrency: int
    ) -> Claim | None:
        token = uuid.uuid4().hex
        deadline = now + lease_seconds

        def claim(conn: sqlite3.Connection) -> list[tuple[int, str, bytes, str, float, int]]:
            conn.execute(EXPIRE_BATCHES, (queue, now))
            if conn.execute(COUNT_BATCHES, (queue,)).fetchone()[0] >= max_concurrency:
                return []
            rows = conn.execute(CLAIM, (token, deadline, queue, now, limit)).fetchall()
            if rows:
                conn.execute(ADD_BATCH, (queue, token, deadline))
            return rows

        rows = await self._write(claim)
        if not rows:
            return None
        messages = tuple(
            StoredMessage(id_, bytes(body), kind, timestamp, attempts, str(seq))
            for seq, id_, body, kind, timestamp, attempts in sorted(rows)
        )
        return Claim(token, deadline, messages)

    async def settle(self, queue: str, claim: Claim, settlement: Settlement, now: float) -> None:
        acks = [(int(m.receipt),) for m in settlement.acks]
        retries = [(at, int(m.receipt), claim.token) for m, at in settlement.retries]
        dead = [int(m.receipt) for m in settlement.dead]
        dlq = settlement.dead_letter_queue

        def settle(conn: sqlite3.Connection) -> None:
            conn.executemany(ACK, acks)
            conn.executemany(RETRY, retries)
            if dead and dlq is not None:
                conn.executemany(COPY_ONE, [(dlq, now, seq) for seq in dead])
                conn.execute(REGISTER, (dlq,))
            conn.executemany(ACK, [(seq,) for seq in dead])
            conn.execute(DROP_BATCH, (queue, claim.token))

        await self._write(settle)

    async def purge(self, queue: str) -> int:
        def purge(conn: sqlite3.Connection) -> int:
            conn.execute(PURGE_BATCHES, (queue,))
            return int(conn.execute(PURGE, (queue,)).rowcount)

        return await self._write(purge)

    async def transfer(self, source: str, target: str, now: float) -> int:
        if source == target:
            return 0

        def transfer(conn: sqlite3.Connection) -> int:
            conn.execute(COPY_ALL, (target, now, source))
            conn.execute(REGISTER, (target,))
            return int(conn.execute(PURGE, (source,)).rowcount)

        return await self._write(transfer)

    async def sweep(self, older_than: float, limit: int) -> int:
        return await self._write(
            lambda conn: int(conn.execute(SWEEP, (older_than, limit)).rowcount)
        )

    # --- reads (inline on the loop) --------------------------------------------------------

    async def readiness(self, queue: str, now: float, limit: int) -> Readiness:
        ready, oldest, next_at = await self._read(READINESS, (queue, now, limit))
        return Readiness(int(ready), oldest, next_at)

    async def counts(self, queue: str, now: float) -> QueueCounts:
        total, ready, in_flight, size, oldest = await self._read(COUNTS, (queue, now))
        ready, in_flight = int(ready), int(in_flight)
        return QueueCounts(ready, int(total) - ready - in_flight, in_flight, int(size), oldest)

    async def list_queues(self) -> list[str]:
        reader = await self._open()
        try:
            names = reader.execute(NAMES).fetchall()
        except sqlite3.Error as exc:
            raise self._translate_error(exc) from exc
        return sorted(row[0] for row in names)

    # --- lifecycle -------------------------------------------------------------------------

    async def check(self) -> None:
        await self._open()
        await self._write(lambda conn: None)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        await self._writer.close()

    # --- helpers ---------------------------------------------------------------------------

    async def _open(self) -> sqlite3.Connection:
        """The reader, after the writer created the file and the tables."""
        if self._closed:
            raise StoreUnavailable(f"{self.url} is closed")
        if self._reader is None:
            await self._writer.run(lambda conn: None, transaction=False)
            try:
                reader = sqlite_connect(self.path, self.busy_timeout)
                reader.execute("PRAGMA query_only = ON")
            except sqlite3.Error as exc:
                raise self._translate_error(exc) from exc
            if self._reader is None:
                self._reader = reader
            else:
                reader.close()
        return self._reader

    async def _read(self, sql: str, params: Sequence[object]) -> tuple[Any, ...]:
        reader = self._reader if self._reader is not None else await self._open()
        try:
            row = reader.execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise self._translate_error(exc) from exc
        return tuple(row)

    async def _write(
        self,
        work: Callable[[sqlite3.Connection], _T],
        statement: tuple[str, Sequence[object]] | None = None,
    ) -> _T:
        if self._closed:
            raise StoreUnavailable(f"{self.url} is closed")
        return await self._writer.run(work, statement=statement)
