"""Conditional requests and byte ranges (RFC 9110 §13.1.2, §13.1.5, §14), hardened.

Everything here is a pure function over header strings; nothing raises on bad
input: a malformed ``If-None-Match`` never matches, a malformed ``Range`` means
"send the whole thing" (HTTP allows ignoring it), several ranges too (no
multipart bodies, so no Range-amplification CPU or memory cost).
"""

from __future__ import annotations

from sites import limits


def _entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """``(weak, opaque)`` pairs of a list of entity-tags, or ``None`` if malformed.

    Commas inside a quoted tag belong to the tag (``"a,b"`` is one tag).
    """
    tags: list[tuple[bool, str]] = []
    i, n = 0, len(header)
    while True:
        while i < n and header[i] in " \t,":
            i += 1
        if i >= n:
            return tags
        weak = header.startswith("W/", i)
        if weak:
            i += 2
        if i >= n or header[i] != '"':
            return None
        end = header.find('"', i + 1)
        if end < 0:
            return None
        tags.append((weak, header[i + 1 : end]))
        i = end + 1
        while i < n and header[i] in " \t":
            i += 1
        if i < n and header[i] != ",":
            return None


def none_match(header: str | None, etag: str) -> bool:
    """True when ``If-None-Match`` matches ``etag`` (the opaque part, unquoted) weakly."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    tags = _entity_tags(header)
    return tags is not None and any(opaque == etag for _, opaque in tags)


def if_range_allows(header: str | None, etag: str) -> bool:
    """True when a ``Range`` may be honoured: no ``If-Range``, or one that matches strongly.

    A date never matches: no ``Last-Modified`` is sent, so the client cannot hold a valid one.
    """
    if header is None:
        return True
    tags = _entity_tags(header.strip())
    return tags is not None and len(tags) == 1 and not tags[0][0] and tags[0][1] == etag


def _number(digits: str) -> int | None:
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    if len(digits) > limits.MAX_NUMBER_DIGITS:
        return int(10**limits.MAX_NUMBER_DIGITS)  # "very large"; int() of huge strings is slow
    return int(digits)


UNSATISFIABLE = (-1, -1)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single byte range ``(start, end_inclusive)`` asked for.

    ``None``: no usable Range (absent, malformed, several ranges, other unit) -> full 200.
    ``UNSATISFIABLE``: a valid single range that selects nothing -> 416.
    """
    if header is None:
        return None
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    first, last = first.strip(), last.strip()
    if not first:  # suffix: the last n bytes
        n = _number(last)
        if n is None:
            return None
        if n == 0 or size == 0:
            return UNSATISFIABLE
        return (max(0, size - n), size - 1)
    start = _number(first)
    if start is None:
        return None
    if last:
        end = _number(last)
        if end is None or end < start:
            return None  # invalid range-spec: ignored
    else:
        end = size - 1
    if start >= size:
        return UNSATISFIABLE
    return (start, min(end, size - 1))
