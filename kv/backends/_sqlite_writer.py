"""The SQLite store's writer: one thread, one connection (private to ``sqlite.py``).

Every write of a store runs here, in submission order, so a write that waits for
another process's lock blocks this thread, never the event loop. Writes that queue
up while a transaction commits are committed together in the next one (group
commit): each job runs inside its own ``SAVEPOINT``, so a failing job is rolled back
alone and reports its own error, while the others share one ``BEGIN IMMEDIATE`` and
one ``COMMIT`` (one WAL append, one fsync with ``synchronous=full``). When SQLite
rolls the whole transaction back itself (disk full, I/O error), every job of the
group fails with that cause. A single-statement job alone in the queue runs in
autocommit mode. A job's waiter resolves only after the commit that made it durable.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from kv.backends import _sqlite_db as db
from kv.errors import StoreUnavailable
from kv.limits import SQLITE_GROUP_COMMIT_MAX

_T = TypeVar("_T")
_log = logging.getLogger("kv.backends.sqlite")
Work = Callable[[sqlite3.Connection], Any]


@dataclass(slots=True)
class _Job:
    """A write job and whoever waits for it: an awaiting task (``waiter`` on ``loop``,
    completed with ``call_soon_threadsafe``: the cheapest hand-back to the loop) or,
    for background work and other threads, a ``concurrent.futures.Future``."""

    work: Work
    transaction: bool  # False: runs alone, outside any transaction (open, quick_check)
    # The one statement (sql, params) that ``work`` executes, if so: alone in its
    # group it runs in autocommit mode, saving the BEGIN/COMMIT round trips.
    statement: tuple[str, Sequence[object]] | None = None
    future: concurrent.futures.Future[Any] | None = None
    waiter: asyncio.Future[Any] | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> bool:
        """False when the caller gave up before the job started: skip it."""
        if self.waiter is not None:
            # Read from the writer thread: racing a cancel only decides whether the
            # write happens, as a cancel during the write would.
            return not self.waiter.cancelled()
        assert self.future is not None
        return self.future.set_running_or_notify_cancel()

    def resolve(self, result: Any) -> None:
        if self.waiter is not None:
            self._hand_back(self.waiter, result, None)
        elif self.future is not None:
            self.future.set_result(result)

    def fail(self, error: BaseException) -> None:
        if self.waiter is not None:
            self._hand_back(self.waiter, None, error)
        elif self.future is not None:
            self.future.set_exception(error)

    def _hand_back(
        self, waiter: asyncio.Future[Any], result: Any, error: BaseException | None
    ) -> None:
        assert self.loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            self.loop.call_soon_threadsafe(_settle, waiter, result, error)


def _settle(waiter: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if waiter.done():  # cancelled meanwhile: the outcome is dropped
        return
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(result)


class Writer:
    """Runs write jobs on a dedicated thread with the connection ``opener`` returns.

    The thread starts with the first job and opens the connection there; ``close()``
    lets queued jobs finish, then closes the connection and ends the thread.
    """

    def __init__(
        self,
        opener: Callable[[], sqlite3.Connection],
        busy_timeout: float,
        translate: Callable[[sqlite3.Error], Exception],
        name: str,
    ) -> None:
        self._opener = opener
        self._busy_timeout = busy_timeout
        self._translate = translate
        self._name = name
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.conn: sqlite3.Connection | None = None  # only touched on the writer thread

    def submit(
        self,
        work: Work,
        *,
        transaction: bool = True,
        statement: tuple[str, Sequence[object]] | None = None,
    ) -> concurrent.futures.Future[Any]:
        """Queue ``work(conn)``; with ``transaction`` it runs inside a write transaction."""
        job = _Job(work, transaction, statement, future=concurrent.futures.Future())
        self._enqueue(job)
        assert job.future is not None
        return job.future

    def _enqueue(self, job: _Job) -> None:
        with self._lock:
            if self._closed:
                raise StoreUnavailable(f"{self._name} is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"edgeworks-sqlite-writer {self._name}", daemon=True
                )
                self._thread.start()
            self._queue.put(job)

    async def run(
        self,
        work: Callable[[sqlite3.Connection], _T],
        *,
        transaction: bool = True,
        statement: tuple[str, Sequence[object]] | None = None,
    ) -> _T:
        """Submit ``work`` and wait for it (committed, when ``transaction``).

        Cancelling the caller cancels a job that has not started (nothing is
        written); a job already running still finishes and commits.
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_T] = loop.create_future()
        self._enqueue(_Job(work, transaction, statement, waiter=waiter, loop=loop))
        return await waiter

    async def close(self) -> None:
        """Finish queued jobs, close the connection and stop the thread."""
        thread = self.stop()
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, thread.join)

    def stop(self) -> threading.Thread | None:
        """Refuse new jobs; the thread finishes the queued ones, closes the connection
        and ends. Returns the thread to join (``None`` if it never started)."""
        with self._lock:
            if self._closed:
                return None
            self._closed = True
            self._queue.put(None)
            return self._thread

    def abandon(self) -> sqlite3.Connection | None:
        """After ``fork()``: forget the thread and queue; return the inherited connection."""
        conn, self.conn = self.conn, None
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._lock = threading.Lock()
        return conn

    # --- on the writer thread ---------------------------------------------------------

    def _run(self) -> None:
        queue_ = self._queue
        running = True
        while running:
            first = queue_.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < SQLITE_GROUP_COMMIT_MAX:
                try:
                    job = queue_.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    running = False
                    break
                batch.append(job)
            try:
                self._process(batch)
            except Exception as exc:  # a bug here must not kill the thread: fail the batch
                _log.exception("SQLite writer failed a batch of %d jobs", len(batch))
                for job in batch:
                    with contextlib.suppress(Exception):
                        job.fail(exc)
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    def _process(self, batch: list[_Job]) -> None:
        group: list[_Job] = []
        for job in batch:
            if not job.start():
                continue  # its caller was cancelled before it started: nothing written
            if job.transaction:
                group.append(job)
                continue
            self._commit(group)
            group = []
            self._alone(job)
        self._commit(group)

    def _connection(self) -> sqlite3.Connection:
        if self.conn is None:
            self.conn = self._opener()
        return self.conn

    def _alone(self, job: _Job) -> None:
        try:
            job.resolve(job.work(self._connection()))
        except BaseException as exc:
            job.fail(self._error(exc))

    def _commit(self, group: list[_Job]) -> None:
        if not group:
            return
        if len(group) == 1 and group[0].statement is not None:
            self._autocommit(group[0], *group[0].statement)
            return
        try:
            conn = self._connection()
            db.begin_immediate(conn, self._busy_timeout)
        except BaseException as exc:
            for job in group:
                job.fail(self._error(exc))
            return
        done: list[tuple[_Job, Any]] = []
        failed: list[tuple[_Job, BaseException]] = []
        try:
            for job in group:
                if len(group) == 1:
                    done.append((job, job.work(conn)))
                    continue
                conn.execute("SAVEPOINT job")
                try:
                    result = job.work(conn)
                except Exception as exc:
                    if not conn.in_transaction:
                        raise  # SQLite rolled everything back (disk full, I/O error)
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    failed.append((job, exc))
                else:
                    conn.execute("RELEASE job")
                    done.append((job, result))
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # Nothing of this group was committed: every job fails with the cause.
            for job in group:
                job.fail(self._error(exc))
            return
        for job, result in done:
            job.resolve(result)
        for job, error in failed:
            job.fail(self._error(error))

    def _autocommit(self, job: _Job, sql: str, params: Sequence[object]) -> None:
        """One statement, its own transaction: committed when ``execute`` returns."""
        try:
            db.execute_retrying(self._connection(), sql, params, self._busy_timeout)
        except BaseException as exc:
            job.fail(self._error(exc))
        else:
            job.resolve(None)

    def _error(self, exc: BaseException) -> BaseException:
        return self._translate(exc) if isinstance(exc, sqlite3.Error) else exc
