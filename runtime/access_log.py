"""The access log: one line per request, written in batches off the request path.

A request only appends a tuple to a buffer (about 0.1 us); formatting, escaping
and writing happen together for every line buffered in the last
``ACCESS_LOG_FLUSH_S`` (a timer on the event loop), when ``ACCESS_LOG_MAX_LINES``
are waiting, at lifespan shutdown (after uvicorn has finished the in-flight
requests, so a SIGTERM loses no line) and at interpreter exit. A batch is one
record of the ``edgeworks.access`` logger (one write to its stream), each line::

    127.0.0.1 GET /path?not-logged 200 12 1.8ms
    client    method path  status  response body bytes  duration

The path is the raw request target's path as the client sent it (percent
escapes kept, the query left out: it often carries tokens). Every field is
escaped as nginx does: a byte outside printable ASCII, a space, ``"`` or ``\\``
is written as ``\\xHH``, so a request can neither forge a line (``%0a`` decoded
would) nor send terminal escapes (``\\x1b``) to the operator's screen.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import re
import weakref

from runtime.limits import ACCESS_LOG_FLUSH_S, ACCESS_LOG_MAX_LINES

__all__ = ["AccessLog", "escape_field", "format_line"]

access_logger = logging.getLogger("edgeworks.access")

_UNSAFE = re.compile(rb'[\x00-\x20"\\\x7f-\xff]')


def _hex(match: re.Match[bytes]) -> bytes:
    return b"\\x%02x" % match.group()[0]


def escape_field(value: bytes | str | None) -> str:
    """``value`` safe for one space-separated log field (``-`` when empty)."""
    if not value:
        return "-"
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
    if _UNSAFE.search(raw) is None:
        return raw.decode("ascii")
    return _UNSAFE.sub(_hex, raw).decode("ascii")


# client host, method, raw path, status, response body bytes, duration ms
Entry = tuple[str | None, str, bytes | str, int, int, float]


def format_line(entry: Entry) -> str:
    """One access-log line (see the module docstring)."""
    client, method, path, status, size, ms = entry
    return (
        f"{escape_field(client)} {escape_field(method)} {escape_field(path)} "
        f"{status} {size} {ms:.1f}ms"
    )


class AccessLog:
    """Buffers access-log entries and writes them in batches.

    >>> log = AccessLog()
    >>> log.record(("127.0.0.1", "GET", b"/", 200, 12, 1.8))   # in a request
    >>> log.flush()                                            # at shutdown
    """

    def __init__(
        self,
        logger: logging.Logger = access_logger,
        *,
        flush_interval: float = ACCESS_LOG_FLUSH_S,
        max_lines: int = ACCESS_LOG_MAX_LINES,
    ) -> None:
        self.logger = logger
        self.flush_interval = flush_interval
        self.max_lines = max_lines
        self._pending: list[Entry] = []
        self._timer: asyncio.TimerHandle | None = None
        _LOGS.add(self)

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def record(self, entry: Entry) -> None:
        """Buffer one request's entry; it is written within ``flush_interval``."""
        pending = self._pending
        pending.append(entry)
        if len(pending) >= self.max_lines:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.flush_interval, self.flush)

    def flush(self) -> None:
        """Write every buffered line now, as one record."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, []
        if pending:
            self.logger.info("%s", "\n".join(map(format_line, pending)))


# Every live AccessLog, flushed at interpreter exit (a process that ends without a
# lifespan shutdown still writes what it buffered).
_LOGS: weakref.WeakSet[AccessLog] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for log in list(_LOGS):
        log.flush()
