"""Optional production limits (off by default, docs/kv.md): one write per second
per key, and 1000 KV operations per request, so code that would fail on Workers
fails here first.

The per-request budget lives in a context variable: the runtime opens one around
each request (``with operation_budget(): ...``); tasks the request spawns copy the
context and share the budget. Without an open budget nothing is counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from kv import limits as L
from kv.errors import KVError
from kv.stats import KV_STATS


class OperationBudget:
    """How many KV operations one request has made, and how many it may make."""

    def __init__(self, limit: int = L.MAX_OPS_PER_REQUEST) -> None:
        self.limit = limit
        self.used = 0


_budget: ContextVar[OperationBudget | None] = ContextVar("kv_operation_budget", default=None)


@contextmanager
def operation_budget(limit: int = L.MAX_OPS_PER_REQUEST) -> Iterator[OperationBudget]:
    """Count the KV operations made inside the block; the one past ``limit`` is a 429.

    >>> with operation_budget():
    ...     response = await handle_request(request, env, ctx)
    """
    budget = OperationBudget(limit)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def count_operation(op: str, kind: str) -> None:
    """Count one operation of ``kind`` (a metrics label) in this process's totals and
    against the open budget, if any (a bulk get counts once)."""
    KV_STATS.operations[kind] += 1
    budget = _budget.get()
    if budget is None:
        return
    budget.used += 1
    if budget.used > budget.limit:
        raise KVError(op, L.STATUS_TOO_MANY_REQUESTS, L.MSG_TOO_MANY_OPS)


class WriteRate:
    """The last write time of each key, for the one-write-per-second-per-key limit."""

    def __init__(self, interval: float = L.WRITE_RATE_INTERVAL) -> None:
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}

    def check(self, namespace: str, key: str, now: float) -> None:
        """Raise the 429 of Workers KV if ``key`` was written less than ``interval`` ago."""
        last = self._last.get((namespace, key))
        if last is not None and now - last < self.interval:
            raise KVError(L.OP_PUT, L.STATUS_TOO_MANY_REQUESTS, L.MSG_WRITE_RATE)

    def wrote(self, namespace: str, key: str, now: float) -> None:
        """Remember a write; forget writes too old to matter once many keys pile up."""
        self._last[(namespace, key)] = now
        if len(self._last) > L.WRITE_RATE_TRACKED_KEYS:
            horizon = now - self.interval
            self._last = {k: t for k, t in self._last.items() if t > horizon}
