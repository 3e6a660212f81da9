"""First open of a SQLite store file: create it, switch it to WAL, create the schema.

Many processes may open one fresh file at once (``edgeworks serve --workers 8`` on a
new state folder). SQLite answers some of the steps with ``SQLITE_BUSY`` at once,
without calling the busy handler (changing the journal mode, WAL recovery), and
two openers could each see the other's half-made file. So:

- openers of one folder take turns: an exclusive ``flock`` on the folder is held
  around create-and-configure (the folder, not the file: closing any descriptor of
  the database file would drop SQLite's own POSIX locks on it in this process);
- every step is retried while SQLite answers busy, until the busy timeout, and the
  error then says how long it really waited (``_sqlite_db.retry_busy``);
- whether the file is ours is decided again under the write lock, so even without
  ``flock`` (Windows, some network file systems) no opener misjudges another's
  half-made file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from kv.backends._sqlite_db import (
    APPLICATION_ID,
    SCHEMA,
    SCHEMA_VERSION,
    connect,
    retry_busy,
    translate,
)
from kv.errors import StoreCorrupt, StoreUnavailable
from kv.limits import (
    SQLITE_JOURNAL_SIZE_LIMIT,
    SQLITE_RETRY_BACKOFF_BASE,
    SQLITE_RETRY_BACKOFF_CAP,
)

_IDENTITY = (
    "SELECT a.application_id, v.user_version, (SELECT count(*) FROM sqlite_schema)"
    " FROM pragma_application_id() AS a, pragma_user_version() AS v"
)


def open_writer(path: Path, busy_timeout: float, synchronous: str) -> sqlite3.Connection:
    """The writer connection, on the writer thread before its first job: creates the
    folder and the file, switches to WAL and creates the schema (``prepare``)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailable(f"cannot create the folder of {path}: {exc}") from exc
    started = time.monotonic()
    with _setup_lock(path, busy_timeout):
        try:
            conn = connect(path, busy_timeout, synchronous=synchronous)
        except sqlite3.Error as exc:
            raise translate(exc, path, busy_timeout) from exc
        try:
            retry_busy(lambda: prepare(conn, path), busy_timeout, started=started)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise translate(exc, path, busy_timeout) from exc
            raise
    return conn


def prepare(conn: sqlite3.Connection, path: Path) -> None:
    """Switch the file to WAL and create the schema, or check it is ours.

    A file that is some other SQLite database (tables, but not our
    ``application_id``) is ``StoreCorrupt``: we never write into a database we did
    not create. Changes nothing when it fails busy, so it can be retried whole.
    """
    ready = _check_ours(conn, path)
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreUnavailable(
            f"{path}: the file system does not support SQLite WAL mode (journal_mode stays "
            f"{mode!r}); put the store on a local disk"
        )
    conn.execute(f"PRAGMA journal_size_limit = {SQLITE_JOURNAL_SIZE_LIMIT}")
    if ready:  # our current schema: nothing to create, no write lock needed
        return
    # Statement by statement: executescript() would COMMIT the open transaction first.
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Again under the write lock: another opener may have finished meanwhile.
        if not _check_ours(conn, path):
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _check_ours(conn: sqlite3.Connection, path: Path) -> bool:
    """True when the file holds our current schema; False when it is empty (ours to
    create); ``StoreCorrupt`` for another database or a newer schema."""
    # One statement, so all three come from one snapshot of the file.
    app_id, version, tables = conn.execute(_IDENTITY).fetchone()
    if app_id != APPLICATION_ID:
        if app_id != 0 or tables:
            raise StoreCorrupt(
                f"{path} is a SQLite database but not an edgeworks KV store "
                f"(application_id {app_id:#x}, {tables} schema objects); "
                "point the store at a new file"
            )
        return False
    if version > SCHEMA_VERSION:
        raise StoreCorrupt(
            f"{path} has KV schema version {version}, newer than this edgeworks "
            f"understands ({SCHEMA_VERSION}); upgrade edgeworks"
        )
    return bool(version == SCHEMA_VERSION)


@contextlib.contextmanager
def _setup_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``'s folder, so openers take turns.

    Polled (not a blocking ``flock``) so a stuck holder costs at most ``timeout``.
    Where ``flock`` does not exist or the file system refuses it, openers go
    without: ``prepare`` stays correct, only busier.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        started = time.monotonic()
        pause = SQLITE_RETRY_BACKOFF_BASE
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited + pause > timeout:
                    raise StoreUnavailable(
                        f"{path}: another process kept setting up the file for {waited:.2f} s "
                        f"(limit {timeout:g} s, the store URL's ?timeout=)"
                    ) from None
            except OSError:  # no flock on this file system
                break
            time.sleep(pause)
            pause = min(pause * 2, SQLITE_RETRY_BACKOFF_CAP)
        yield
    finally:
        os.close(fd)  # releases the flock
