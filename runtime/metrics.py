"""``GET /__edgeworks/metrics``: the process's numbers in Prometheus text format.

What is counted: requests by status class and their latency, requests stopped by
the CPU or wall limit, ``fetch`` subrequests, KV operations by kind and the
latency of their store calls, edge-cache hits, misses and invalidations, queue
deliveries by outcome and each queue's backlog (read from the store) (see
docs/operations.md for the names and suggested alerts).

Counting happens on the request path in plain Python (:class:`RequestStats`,
``kv.stats.KV_STATS``): ~0.3 us per request, where a Prometheus client counter
costs 1-2 us per update and 2-6 us in its multi-process mode. ``prometheus_client``
only formats, at scrape time, and is imported then.

Several processes (``serve --workers N``, and the generations a HUP reload
starts): each process writes a snapshot of its totals to a folder the parent
made, every ``METRICS_FLUSH_S`` and when it stops; a scrape, answered by any
one process, writes its own first and sums the snapshots of every process that
has served, so counters never go back across reloads. The figures of the other
processes are at most ``METRICS_FLUSH_S`` old.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kv.stats import KV_STATS, Histogram
from queues.stats import QUEUE_STATS
from runtime.limits import METRICS_FLUSH_S, REQUEST_LATENCY_BUCKETS

__all__ = ["Metrics", "RequestStats"]

logger = logging.getLogger("edgeworks.runtime")

# name (without _total), help, label (None: no label)
COUNTERS: tuple[tuple[str, str, str | None], ...] = (
    ("edgeworks_requests", "HTTP requests answered by the worker, by status class", "code"),
    ("edgeworks_limit_exceeded", "Requests stopped by a limit (cpu: 503, wall: 504)", "limit"),
    ("edgeworks_subrequests", "fetch() calls made by worker requests", None),
    ("edgeworks_kv_operations", "KV operations by kind", "operation"),
    ("edgeworks_kv_cache_lookups", "Edge-cache lookups of KV reads, by result", "result"),
    ("edgeworks_kv_cache_invalidations", "Cached KV keys dropped: changed elsewhere", None),
    ("edgeworks_queue_deliveries", "Delivered queue messages by outcome", "queue,outcome"),
)
# Queue gauges: read from the store when scraped (every process sees the same store).
QUEUE_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("edgeworks_queue_ready_messages", "Messages ready for delivery", "ready"),
    ("edgeworks_queue_delayed_messages", "Messages waiting for their delay", "delayed"),
    ("edgeworks_queue_in_flight_messages", "Messages leased to a consumer", "in_flight"),
    (
        "edgeworks_queue_dead_lettered_messages",
        "Messages in the dead letter queue",
        "dead_lettered",
    ),
    ("edgeworks_queue_backlog_bytes", "Bytes of the queue's stored messages", "backlog_bytes"),
)
HISTOGRAMS: tuple[tuple[str, str, str | None], ...] = (
    ("edgeworks_request_duration_seconds", "Time to answer a worker request", None),
    ("edgeworks_kv_store_duration_seconds", "Latency of KV store calls, by kind", "operation"),
)

Snapshot = dict[str, dict[str, Any]]


class RequestStats:
    """The request counters of one process (updated by the app on each request)."""

    __slots__ = ("by_class", "duration", "limits", "subrequests")

    def __init__(self) -> None:
        self.by_class = [0] * 6  # index: status // 100
        self.duration = Histogram(REQUEST_LATENCY_BUCKETS)
        self.limits: Counter[str] = Counter()
        self.subrequests = 0

    def request(self, status: int, seconds: float) -> None:
        self.by_class[min(status // 100, 5)] += 1
        self.duration.observe(seconds)


class Metrics:
    """This process's metrics; ``folder``: where every process of a serve writes its own.

    >>> metrics = Metrics(folder=None)              # one process (dev, tests)
    >>> app = create_app(host, metrics=metrics)     # serves /__edgeworks/metrics
    """

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        queues: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None,
    ) -> None:
        self.folder = Path(folder) if folder is not None else None
        #: the queues' counts (``runtime.consumers.queue_overview``), read on each scrape
        self.queues = queues
        self.requests = RequestStats()
        self._file = self.folder / f"{os.getpid()}.json" if self.folder is not None else None

    # --- snapshots -------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """This process's totals as plain data (label value -> count, or histogram)."""
        requests, kv = self.requests, KV_STATS
        classes = {f"{n}xx": count for n, count in enumerate(requests.by_class) if count}
        return {
            "counters": {
                "edgeworks_requests": classes,
                "edgeworks_limit_exceeded": dict(requests.limits),
                "edgeworks_subrequests": {"": requests.subrequests},
                "edgeworks_kv_operations": dict(kv.operations),
                "edgeworks_kv_cache_lookups": {"hit": kv.cache_hits, "miss": kv.cache_misses},
                "edgeworks_kv_cache_invalidations": {"": kv.cache_invalidations},
                "edgeworks_queue_deliveries": {
                    f"{queue},{outcome}": n for (queue, outcome), n in QUEUE_STATS.outcomes.items()
                },
            },
            "histograms": {
                "edgeworks_request_duration_seconds": {"": _plain(requests.duration)},
                "edgeworks_kv_store_duration_seconds": {
                    op: _plain(h) for op, h in kv.store_seconds.items()
                },
            },
        }

    def write(self) -> None:
        """Write this process's snapshot for the others to sum (atomic replace)."""
        if self._file is None:
            return
        temporary = self._file.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.snapshot()))
        os.replace(temporary, self._file)

    async def flush_forever(self) -> None:
        """Write the snapshot every ``METRICS_FLUSH_S`` (a task of the app's lifespan)."""
        while True:
            await asyncio.sleep(METRICS_FLUSH_S)
            try:
                self.write()
            except OSError as exc:  # a full disk must not stop serving
                logger.warning("metrics: cannot write %s: %s", self._file, exc)

    async def _queue_rows(self) -> list[dict[str, Any]]:
        if self.queues is None:
            return []
        try:
            return await self.queues()
        except Exception as exc:  # a store outage must not fail the scrape
            logger.warning("metrics: queue counts unavailable: %s", exc)
            return []

    def totals(self) -> Snapshot:
        """The sum over every process's snapshot (just this process without a folder)."""
        if self.folder is None:
            return self.snapshot()
        self.write()
        total: Snapshot = {"counters": {}, "histograms": {}}
        for file in sorted(self.folder.glob("*.json")):
            try:
                _add(total, json.loads(file.read_text()))
            except (OSError, ValueError) as exc:
                logger.warning("metrics: skipping %s: %s", file, exc)
        return total

    # --- exposition -------------------------------------------------------------------

    async def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition in the format the scraper's ``Accept`` header asks for (Prometheus
        text, or OpenMetrics), and its content type."""
        from prometheus_client import CollectorRegistry
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )
        from prometheus_client.exposition import choose_encoder

        totals = self.totals()
        families: list[Any] = []
        for name, doc, label in COUNTERS:
            labels = label.split(",") if label else None
            counter = CounterMetricFamily(name, doc, labels=labels)
            for value, count in sorted(totals["counters"].get(name, {}).items()):
                counter.add_metric(value.split(",") if label else [], count)
            families.append(counter)
        rows = await self._queue_rows()
        for name, doc, column in QUEUE_GAUGES:
            gauge = GaugeMetricFamily(name, doc, labels=["queue"])
            for row in rows:
                gauge.add_metric([row["name"]], row[column])
            families.append(gauge)
        for name, doc, label in HISTOGRAMS:
            histogram = HistogramMetricFamily(name, doc, labels=[label] if label else None)
            for value, data in sorted(totals["histograms"].get(name, {}).items()):
                cumulative, buckets = 0, []
                for bound, count in zip([*data["bounds"], "+Inf"], data["counts"], strict=True):
                    cumulative += count
                    buckets.append((str(bound), cumulative))
                histogram.add_metric([value] if label else [], buckets, data["sum"])
            families.append(histogram)

        class Collector:
            def collect(self) -> list[Any]:
                return families

        registry = CollectorRegistry(auto_describe=False)
        registry.register(Collector())
        encoder, content_type = choose_encoder(accept)
        return encoder(registry), content_type


def _plain(histogram: Histogram) -> dict[str, Any]:
    return {"bounds": histogram.bounds, "counts": histogram.counts, "sum": histogram.sum}


def _add(total: Snapshot, snapshot: Snapshot) -> None:
    for name, values in snapshot.get("counters", {}).items():
        into = total["counters"].setdefault(name, {})
        for label, count in values.items():
            into[label] = into.get(label, 0) + count
    for name, values in snapshot.get("histograms", {}).items():
        into = total["histograms"].setdefault(name, {})
        for label, data in values.items():
            have = into.get(label)
            if have is None:
                into[label] = {**data, "counts": list(data["counts"])}
            elif list(have["bounds"]) == list(data["bounds"]):
                have["counts"] = [
                    a + b for a, b in zip(have["counts"], data["counts"], strict=True)
                ]
                have["sum"] += data["sum"]
            # else: buckets of another edgeworks version (before a reload): not addable
