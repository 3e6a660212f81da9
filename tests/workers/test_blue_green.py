"""Blue-green router: config parsing, deterministic buckets, routing through WorkerClient,
and one test with two real origins behind a real ``edgeworks serve``."""

from __future__ import annotations

import hashlib

import pytest

from workers.blue_green import BUCKETS, Split, bucket_of, parse_split


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"active": "blue", "green_percent": 20, "sticky": True}, Split("blue", 20, True)),
        ({"active": "green", "blue_percent": 5}, Split("green", 5, True)),
        ({"active": "green"}, Split("green", 0, True)),
        ({"green_percent": 100}, Split("blue", 100, True)),
        ({"active": "blue", "green_percent": 0, "sticky": False}, Split("blue", 0, False)),
    ],
)
def test_parse_split_accepts_valid_configs(raw: object, expected: Split) -> None:
    assert parse_split(raw, "blue") == (expected, None)


@pytest.mark.parametrize(
    ("raw", "default", "active", "problem"),
    [
        (None, "blue", "blue", "no deploy config"),
        (None, "green", "green", "no deploy config"),
        ([1, 2], "blue", "blue", "JSON object"),
        ("green", "blue", "blue", "JSON object"),
        ({"active": "purple"}, "blue", "blue", '"active" must be'),
        ({"active": "green", "green_percent": 10}, "blue", "green", "for the active colour"),
        ({"active": "blue", "green_percent": 101}, "blue", "blue", "integer 0..100"),
        ({"active": "blue", "green_percent": -1}, "blue", "blue", "integer 0..100"),
        ({"active": "blue", "green_percent": "20"}, "blue", "blue", "integer 0..100"),
        ({"active": "blue", "green_percent": 20.5}, "blue", "blue", "integer 0..100"),
        ({"active": "blue", "green_percent": True}, "blue", "blue", "integer 0..100"),
        ({"active": "blue", "green_percent": 20, "sticky": "yes"}, "blue", "blue", '"sticky"'),
        ({"active": "blue", "green_pct": 20}, "blue", "blue", "unknown keys"),
    ],
)
def test_parse_split_sends_everything_to_the_active_colour_when_broken(
    raw: object, default: str, active: str, problem: str
) -> None:
    split, message = parse_split(raw, default)
    assert split == Split(active, 0, True)
    assert message is not None and problem in message


def test_bucket_of_is_a_stable_sha256_bucket() -> None:
    # The same id must land in the same bucket in every process, location and release.
    digest = hashlib.sha256(b"user-42").digest()
    assert bucket_of("user-42") == int.from_bytes(digest[:8], "big") % BUCKETS
    assert all(0 <= bucket_of(f"u{i}") < BUCKETS for i in range(1000))


def test_split_raising_the_percent_never_moves_a_user_back() -> None:
    ids = [f"user-{i}" for i in range(2000)]
    green_at = {
        p: {u for u in ids if Split("blue", p).color_for(bucket_of(u)) == "green"}
        for p in (0, 10, 50, 100)
    }
    assert green_at[0] == set()
    assert green_at[10] <= green_at[50] <= green_at[100] == set(ids)
