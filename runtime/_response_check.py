"""What a worker's response may put on the wire, checked before anything is sent.

The HTTP server refuses a status outside 100-599 or a header with a CR, LF or
other control character (it would split the response: CVE-2020-7695's class) by
raising mid-send, which leaves the client with an empty reply and no log line.
Checking first lets the app answer a proper 500 instead and say why. The
patterns are those of the server's own check (uvicorn's httptools protocol), so
whatever passes here is what it sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from runtime.limits import MSG_BAD_HEADER_NAME, MSG_BAD_HEADER_VALUE, MSG_BAD_STATUS

__all__ = ["InvalidResponse", "response_problem"]

# A header name is a token (RFC 9110 §5.1); a value has no control character but TAB.
_BAD_NAME = re.compile(b'[\x00-\x1f\x7f()<>@,;:\\[\\]={} \t\\\\"]')
_BAD_VALUE = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS_MIN = 100
_STATUS_MAX = 599


class InvalidResponse(Exception):
    """A worker returned a response that cannot be sent; the message says what is wrong."""

    status = 500


def response_problem(status: object, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """Why ``status`` and ``headers`` cannot go on the wire, or ``None`` when they can."""
    if not isinstance(status, int) or not _STATUS_MIN <= status <= _STATUS_MAX:
        return MSG_BAD_STATUS.format(status=status)
    for name, value in headers:
        if not name or _BAD_NAME.search(name):
            return MSG_BAD_HEADER_NAME.format(name=name)
        if _BAD_VALUE.search(value):
            return MSG_BAD_HEADER_VALUE.format(name=name.decode("latin-1"), value=value)
    return None
