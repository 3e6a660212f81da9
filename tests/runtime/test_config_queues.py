"""The [queues] section: defaults, bounds, did-you-mean, one consumer per queue."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.config import load_config
from runtime.errors import ConfigError

FULL = """
name = "app"

[[queues.producers]]
binding = "JOBS"
queue = "jobs"
delivery_delay = 5

[[queues.consumers]]
queue = "jobs"
max_batch_size = 100
max_batch_timeout = 0.5
max_retries = 0
dead_letter_queue = "jobs-dlq"
retry_delay = 86400
max_concurrency = 250
visibility_timeout = 1

[[queues.consumers]]
queue = "jobs-dlq"

[queues]
retention = 60

[limits]
queue_wall_ms = 1000
"""


def load(tmp_path: Path, text: str) -> object:
    (tmp_path / "edgeworks.toml").write_text(text)
    return load_config(cwd=tmp_path)


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_config_queues_every_field(tmp_path: Path) -> None:
    config = load(tmp_path, FULL)
    queues = config.queues  # type: ignore[attr-defined]
    assert queues.producer_bindings["JOBS"].queue == "jobs"
    assert queues.producers[0].delivery_delay == 5
    settings = queues.consumer("jobs").settings()
    assert (settings.max_batch_size, settings.max_batch_timeout, settings.max_retries) == (
        100,
        0.5,
        0,
    )
    assert (settings.dead_letter_queue, settings.retry_delay, settings.max_concurrency) == (
        "jobs-dlq",
        86400,
        250,
    )
    assert settings.visibility_timeout == 1.0
    dlq = queues.consumer("jobs-dlq").settings()
    assert (dlq.max_batch_size, dlq.max_batch_timeout, dlq.max_retries) == (10, 5.0, 3)
    assert (dlq.max_concurrency, dlq.visibility_timeout) == (1, 900.0)
    assert queues.retention == 60
    assert config.limits.queue_wall_ms == 1000  # type: ignore[attr-defined]


def test_config_queues_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, 'name = "app"\n')
    assert config.queues.producers == () and config.queues.retention == 345600  # type: ignore[attr-defined]
    assert config.limits.queue_wall_ms == 900_000  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("max_batch_size", "0", "1 to 100"),
        ("max_batch_size", "101", "1 to 100"),
        ("max_batch_timeout", "60.5", "0 to 60"),
        ("max_retries", "101", "0 to 100"),
        ("retry_delay", "86401", "0 to 86400"),
        ("max_concurrency", "251", "1 to 250"),
        ("visibility_timeout", "0", "1 to 43200"),
    ],
)
def test_config_queues_consumer_bounds(
    tmp_path: Path, field: str, value: str, allowed: str
) -> None:
    message = error(tmp_path, f'[[queues.consumers]]\nqueue = "jobs"\n{field} = {value}\n')
    assert message == (
        f"{tmp_path / 'edgeworks.toml'}: queues.consumers[0].{field} = {value} "
        f"is out of range: allowed {allowed}"
    )


def test_config_queues_errors(tmp_path: Path) -> None:
    assert "did you mean 'max_retries'?" in error(
        tmp_path, '[[queues.consumers]]\nqueue = "jobs"\nmax_retry = 1\n'
    )
    assert "did you mean 'consumers'?" in error(tmp_path, '[[queues.consumer]]\nqueue = "jobs"\n')
    assert "queues.producers[0].queue = 'my/ queue' is not a valid queue name" in error(
        tmp_path, '[[queues.producers]]\nbinding = "Q"\nqueue = "my/ queue"\n'
    )
    assert "queue 'jobs' has two consumers" in error(
        tmp_path, '[[queues.consumers]]\nqueue = "jobs"\n[[queues.consumers]]\nqueue = "jobs"\n'
    )
    assert 'Dead letter queue for queue "jobs" cannot be itself' in error(
        tmp_path, '[[queues.consumers]]\nqueue = "jobs"\ndead_letter_queue = "jobs"\n'
    )
    assert "is already used by vars.JOBS" in error(
        tmp_path, '[vars]\nJOBS = 1\n[[queues.producers]]\nbinding = "JOBS"\nqueue = "jobs"\n'
    )
    assert "queues.retention = 59 is out of range" in error(tmp_path, "[queues]\nretention = 59\n")
    assert "queues.producers[0].delivery_delay = 86401 is out of range" in error(
        tmp_path, '[[queues.producers]]\nbinding = "Q"\nqueue = "q"\ndelivery_delay = 86401\n'
    )
