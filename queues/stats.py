"""Process-wide queue counters for metrics: what consumers did with the messages they
were delivered (plain integers; the runtime's metrics read :data:`QUEUE_STATS`)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from queues.engine import BatchResult

__all__ = ["QUEUE_STATS", "QueueStats"]


class QueueStats:
    """Outcomes of this process's deliveries since it started."""

    def __init__(self) -> None:
        #: (queue, outcome) -> messages; outcome: acked, retried, dead_lettered, dropped
        self.outcomes: Counter[tuple[str, str]] = Counter()

    def count(self, result: BatchResult) -> None:
        for outcome in ("acked", "retried", "dead_lettered", "dropped"):
            ids = getattr(result, outcome)
            if ids:
                self.outcomes[(result.queue, outcome)] += len(ids)


#: The counters of this process.
QUEUE_STATS = QueueStats()
