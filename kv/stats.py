"""Process-wide KV counters for metrics: operations by kind, store call latency, and the
edge cache's hits, misses and invalidations.

Plain integers and lists, updated on the hot path for ~0.1 us per operation (a
Prometheus client's own counters cost 1-5 us per update); the runtime's metrics
read :data:`KV_STATS` when scraped. Latencies go into fixed buckets (seconds).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter

from kv.limits import STORE_LATENCY_BUCKETS

__all__ = ["KV_STATS", "Histogram", "KVStats"]


class Histogram:
    """Counts of observations per bucket (upper bounds, seconds) and their sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one: above every bound (+Inf)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value


class KVStats:
    """What this process's KV namespaces and edge caches did since it started."""

    def __init__(self) -> None:
        #: operation -> count ("get", "put", "delete", "list", "get_bulk")
        self.operations: Counter[str] = Counter()
        #: operation -> latency of the store calls it made (cache hits make none)
        self.store_seconds: dict[str, Histogram] = {}
        self.cache_hits = 0
        self.cache_misses = 0
        #: cached keys dropped because they changed elsewhere (pub/sub) or were cleared
        self.cache_invalidations = 0

    def store_call(self, op: str, seconds: float) -> None:
        histogram = self.store_seconds.get(op)
        if histogram is None:
            histogram = self.store_seconds[op] = Histogram(STORE_LATENCY_BUCKETS)
        histogram.observe(seconds)


#: The counters of this process (one per process: each is one location).
KV_STATS = KVStats()
