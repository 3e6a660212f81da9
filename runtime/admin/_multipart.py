"""``multipart/form-data`` bodies of value writes, parsed from the buffered body.

Part bodies are kept as exact bytes (a value may be any bytes, with or without a
filename), which form parsers built for text fields do not promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from runtime.admin import limits as L
from runtime.admin.errors import AdminError


@dataclass(frozen=True, slots=True)
class Part:
    """One part: its body bytes and its Content-Type (``""`` when it has none)."""

    data: bytes
    content_type: str


def _params(header: str) -> Message:
    message = Message()
    message["content-type"] = header
    return message


def _bad(detail: str) -> AdminError:
    return AdminError(L.MSG_BAD_MULTIPART.format(detail=detail))


def parse_multipart(content_type: str, body: bytes) -> dict[str, Part]:
    """Parts by their ``name`` (the first of a repeated name wins)."""
    boundary = _params(content_type).get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise _bad("the Content-Type has no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    pieces = body.split(b"\r\n" + delimiter)
    first = pieces[0]
    if not first.startswith(delimiter):
        raise _bad("the body does not start with the boundary")
    pieces[0] = first[len(delimiter) :]
    parts: dict[str, Part] = {}
    closed = False
    for piece in pieces:
        if piece.startswith(b"--"):
            closed = True
            break
        if not piece.startswith(b"\r\n"):
            raise _bad("a boundary line is followed by garbage")
        head, sep, data = piece[2:].partition(b"\r\n\r\n")
        if not sep:
            raise _bad("a part has no blank line after its headers")
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n"):
            field, colon, value = line.partition(":")
            if not colon:
                raise _bad(f"bad part header line {line!r}")
            headers[field.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = _params("form-data; " + disposition.partition(";")[2]).get_param("name")
        if not isinstance(name, str):
            raise _bad("a part has no Content-Disposition name")
        parts.setdefault(name, Part(data, headers.get("content-type", "")))
    if not closed:
        raise _bad("the closing boundary is missing")
    return parts
