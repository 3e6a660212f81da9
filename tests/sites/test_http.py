"""If-None-Match, If-Range and Range parsing (RFC 9110 §13.1.2, §13.1.5, §14)."""

from __future__ import annotations

import time

import pytest

from sites._http import UNSATISFIABLE, if_range_allows, none_match, parse_range

ETAG = "abc"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ('"x",W/"abc"', True),
        ("*", True),
        (" * ", True),
        ("abc", False),
        ('"a,b"', False),
        ('"a,b", "abc"', True),
        ('"x"', False),
        ('"abc', False),
        ('"x" "abc"', False),
        ("", False),
        ("x" * 10_000, False),
        ('"x",' * 5000, False),
    ],
)
def test_if_none_match_cases(header: str, expected: bool) -> None:
    assert none_match(header, ETAG) is expected


def test_if_none_match_absent() -> None:
    assert none_match(None, ETAG) is False


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, True),
        ('"abc"', True),
        ('W/"abc"', False),
        ('"x"', False),
        ("Wed, 21 Oct 2015 07:28:00 GMT", False),
    ],
)
def test_if_range(header: str | None, expected: bool) -> None:
    assert if_range_allows(header, ETAG) is expected


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-2", 10, (0, 2)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),
        ("bytes=0-100", 10, (0, 9)),
        ("bytes=9-9", 10, (9, 9)),
        ("bytes= 2 - 4 ", 10, (2, 4)),
        ("BYTES=0-0", 10, (0, 0)),
        ("bytes=10-", 10, UNSATISFIABLE),
        ("bytes=10-20", 10, UNSATISFIABLE),
        ("bytes=-0", 10, UNSATISFIABLE),
        ("bytes=0-", 0, UNSATISFIABLE),
        ("bytes=-5", 0, UNSATISFIABLE),
        ("bytes=" + "9" * 40 + "-", 10, UNSATISFIABLE),
        ("bytes=0-" + "9" * 40, 10, (0, 9)),
        ("bytes=-" + "9" * 40, 10, (0, 9)),
        ("bytes=5-1", 10, None),
        ("bytes=0-1,2-3", 10, None),
        ("items=0-1", 10, None),
        ("bytes=abc", 10, None),
        ("bytes=1", 10, None),
        ("bytes=-", 10, None),
        ("bytes=٣-٤", 10, None),
        ("bytes=+1-2", 10, None),
        ("", 10, None),
        (None, 10, None),
    ],
)
def test_parse_range_cases(header: str | None, size: int, expected: object) -> None:
    assert parse_range(header, size) == expected


def test_parse_range_abusive_headers_are_cheap() -> None:
    many = "bytes=" + ",".join(f"{i}-{i}" for i in range(5000))
    overlapping = "bytes=" + ",".join("0-" for _ in range(100))
    started = time.perf_counter()
    for header in (many, overlapping):
        assert parse_range(header, 1_000_000) is None
    assert time.perf_counter() - started < 0.05 * 2
