"""Reclaiming expired entries of the SQLite store (private to ``sqlite.py``).

Reads never return an expired entry; this module frees the space they take:

- **lazily**: a read that finds an expired row queues its deletion on the writer,
  conditional on the row still being expired (a newer put may have replaced it);
- **by a sweep**: every ``interval`` seconds (on the injected monotonic clock) the
  writer deletes at most ``batch`` expired rows, using for each namespace the latest
  ``now`` that namespace passed in. A store has no clock of its own, so it never
  drops an entry that the namespace's clock still considers live, even a fake one.

Maintenance runs in the background on the writer; a failure is logged, never raised.
"""

from __future__ import annotations

import concurrent.futures
import logging
import sqlite3
from collections.abc import Callable

from kv.backends import _sqlite_db as db
from kv.backends._sqlite_writer import Writer
from kv.errors import StoreUnavailable

_log = logging.getLogger("kv.backends.sqlite")


class Reclaimer:
    """Lazy deletes and periodic bounded sweeps of expired rows."""

    def __init__(
        self,
        writer: Writer,
        interval: float,
        batch: int,
        monotonic: Callable[[], float],
    ) -> None:
        self._writer = writer
        self._interval = interval
        self._batch = batch
        self._monotonic = monotonic
        self._next_sweep = monotonic() + interval
        self._seen_now: dict[str, float] = {}  # namespace -> latest ``now`` it passed
        self._pending: set[tuple[str, bytes]] = set()

    def saw(self, namespace: str, now: float) -> None:
        """A read of ``namespace`` at ``now``; starts a sweep when one is due."""
        self._seen_now[namespace] = now
        if self._monotonic() >= self._next_sweep:
            self.sweep_soon()

    def tick(self) -> None:
        """A write happened: start a sweep when one is due."""
        if self._monotonic() >= self._next_sweep:
            self.sweep_soon()

    def expired(self, namespace: str, raw: bytes, now: float) -> None:
        """A read found ``raw`` expired at ``now``: delete it unless rewritten since."""
        token = (namespace, raw)
        if token in self._pending:
            return  # already queued (a hot expired key read many times)
        self._pending.add(token)

        def reclaim(conn: sqlite3.Connection) -> None:
            self._pending.discard(token)
            conn.execute(db.DELETE_EXPIRED, (namespace, raw, now))

        self._submit(reclaim)

    def sweep_soon(self) -> None:
        """Queue a sweep with every namespace's latest clock reading."""
        self._next_sweep = self._monotonic() + self._interval
        clocks = dict(self._seen_now)
        if clocks:
            self._submit(lambda conn: self._sweep(conn, clocks))

    def forget(self) -> None:
        """After ``fork()``: queued work died with the parent's writer thread."""
        self._pending.clear()

    def _sweep(self, conn: sqlite3.Connection, clocks: dict[str, float]) -> None:
        budget = self._batch
        for namespace, now in clocks.items():
            budget -= conn.execute(db.SWEEP, (namespace, now, budget)).rowcount
            if budget <= 0:
                self._next_sweep = self._monotonic()  # more to reclaim: sweep again soon
                return

    def _submit(self, work: Callable[[sqlite3.Connection], object]) -> None:
        try:
            future = self._writer.submit(work)
        except StoreUnavailable:
            return  # the store is closing: nothing to maintain
        future.add_done_callback(_log_failure)


def _log_failure(future: concurrent.futures.Future[object]) -> None:
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        _log.warning("background expiry maintenance failed: %s", exc)
