"""The Redis queue layout keeps each queue in one Redis Cluster hash slot."""

from __future__ import annotations

import re

import pytest
from redis.crc import key_slot

from queues.backends import _redis_scripts as scripts
from queues.backends.redis import REGISTRY_KEY, queue_keys


@pytest.mark.parametrize("name", ["jobs", "jobs-dlq", "A-1", "x" * 63])
def test_redis_queue_keys_share_one_slot(name: str) -> None:
    keys = queue_keys(name)
    assert len(keys) == 7 and len(set(keys)) == 7
    assert {key_slot(k) for k in keys} == {key_slot(b"{" + name.encode() + b"}")}


def test_redis_scripts_touch_only_their_keys() -> None:
    """Every key a script names comes from KEYS (one queue's slot), never a literal."""
    for source in (scripts.SEND, scripts.CLAIM, scripts.SETTLE, scripts.READINESS):
        assert "ewq:" not in source and REGISTRY_KEY.decode() not in source
        assert set(re.findall(r"KEYS\[(\d+)\]", source)) <= {str(i) for i in range(1, 8)}
