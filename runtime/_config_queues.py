"""The ``[queues]`` section of ``edgeworks.toml`` (wrangler's shape).

Private to ``runtime.config``, which adds ``queues: QueuesConfig`` to ``Config``::

    [[queues.producers]]
    binding = "JOBS"            # env.JOBS
    queue = "jobs"
    delivery_delay = 0          # seconds, default delay of send()

    [[queues.consumers]]
    queue = "jobs"
    max_batch_size = 10         # and max_batch_timeout, max_retries, dead_letter_queue,
                                # retry_delay, max_concurrency, visibility_timeout

    [queues]
    retention = 345600          # seconds a message is kept, delivered or not

Bounds and defaults come from ``queues.limits``; behaviour: docs/queues.md.
"""

from __future__ import annotations

import keyword
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from queues.limits import (
    DELIVERY_DELAY,
    MAX_BATCH_SIZE,
    MAX_BATCH_TIMEOUT,
    MAX_CONCURRENCY,
    MAX_RETRIES,
    QUEUE_NAME_RE,
    QUEUE_NAME_RULE,
    RETENTION,
    RETRY_DELAY,
    VISIBILITY_TIMEOUT,
)

if TYPE_CHECKING:
    from queues.engine import ConsumerSettings

__all__ = ["QueueConsumerConfig", "QueueProducerConfig", "QueuesConfig"]


def _within(bounds: tuple[float, float, float]) -> AfterValidator:
    _, low, high = bounds

    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"is out of range: allowed {low:g} to {high:g}")
        return value

    return AfterValidator(check)


def _queue_name(value: str) -> str:
    if not QUEUE_NAME_RE.fullmatch(value):
        raise ValueError(f"is not a valid queue name: {QUEUE_NAME_RULE}")
    return value


def _binding(value: str) -> str:
    if not value.isidentifier() or keyword.iskeyword(value):
        raise ValueError(
            "is not a valid binding name: use a Python identifier (letters, digits and _, "
            "not starting with a digit, not a keyword)"
        )
    return value


QueueName = Annotated[StrictStr, AfterValidator(_queue_name)]
Seconds = StrictInt | StrictFloat


class _Model(BaseModel):
    # defer_build: validated inside Config's one validator (see runtime/config.py)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class QueueProducerConfig(_Model):
    """One ``[[queues.producers]]``: ``env.<binding>`` sends to ``queue``."""

    binding: Annotated[StrictStr, AfterValidator(_binding)]
    queue: QueueName
    delivery_delay: Annotated[StrictInt, _within(DELIVERY_DELAY)] = DELIVERY_DELAY[0]


class QueueConsumerConfig(_Model):
    """One ``[[queues.consumers]]``: the worker's ``queue()`` consumes ``queue``."""

    queue: QueueName
    type: Literal["worker"] = "worker"
    max_batch_size: Annotated[StrictInt, _within(MAX_BATCH_SIZE)] = MAX_BATCH_SIZE[0]
    max_batch_timeout: Annotated[Seconds, _within(MAX_BATCH_TIMEOUT)] = MAX_BATCH_TIMEOUT[0]
    max_retries: Annotated[StrictInt, _within(MAX_RETRIES)] = MAX_RETRIES[0]
    dead_letter_queue: QueueName | None = None
    retry_delay: Annotated[StrictInt, _within(RETRY_DELAY)] = RETRY_DELAY[0]
    max_concurrency: Annotated[StrictInt, _within(MAX_CONCURRENCY)] = MAX_CONCURRENCY[0]
    visibility_timeout: Annotated[Seconds, _within(VISIBILITY_TIMEOUT)] = VISIBILITY_TIMEOUT[0]

    @model_validator(mode="after")
    def _check_dlq(self) -> QueueConsumerConfig:
        if self.dead_letter_queue == self.queue:
            raise ValueError(f'Dead letter queue for queue "{self.queue}" cannot be itself')
        return self

    def settings(self) -> ConsumerSettings:
        """The consumer engine's settings for this entry."""
        from queues.engine import ConsumerSettings

        return ConsumerSettings(
            queue=self.queue,
            max_batch_size=self.max_batch_size,
            max_batch_timeout=float(self.max_batch_timeout),
            max_retries=self.max_retries,
            dead_letter_queue=self.dead_letter_queue,
            retry_delay=self.retry_delay,
            max_concurrency=self.max_concurrency,
            visibility_timeout=float(self.visibility_timeout),
        )


class QueuesConfig(_Model):
    """``[queues]``: producers, consumers and the retention of every queue."""

    producers: tuple[QueueProducerConfig, ...] = ()
    consumers: tuple[QueueConsumerConfig, ...] = ()
    retention: Annotated[StrictInt, _within(RETENTION)] = RETENTION[0]

    @model_validator(mode="after")
    def _check_consumers(self) -> QueuesConfig:
        seen: dict[str, int] = {}
        for index, consumer in enumerate(self.consumers):
            if consumer.queue in seen:
                raise ValueError(
                    f"queue {consumer.queue!r} has two consumers, queues.consumers"
                    f"[{seen[consumer.queue]}] and queues.consumers[{index}]: "
                    "one consumer per queue"
                )
            seen[consumer.queue] = index
        return self

    @property
    def producer_bindings(self) -> dict[str, QueueProducerConfig]:
        """Binding name -> producer entry."""
        return {p.binding: p for p in self.producers}

    def consumer(self, queue: str) -> QueueConsumerConfig | None:
        """The consumer of ``queue``, if one is configured."""
        return next((c for c in self.consumers if c.queue == queue), None)
