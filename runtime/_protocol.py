"""The HTTP/1.1 protocols ``serve`` and ``dev`` run: uvicorn's, with a bounded request head.

uvicorn's protocols put no limit on a request's head: httptools accumulates a
header value by concatenation (quadratic: one client streaming a 200 MB header
stalled every other client for seconds and grew the process by hundreds of MB),
and a client that sends its head one byte every few seconds holds its socket
(and file descriptor) forever, because each byte cancels the keep-alive timer.
These subclasses add, per request (``[limits]``, see docs/operations.md):

- ``max_header_bytes``: the request line plus headers. Bytes are counted before
  the parser sees them and it is fed at most the remaining budget, so crossing
  the limit costs at most the limit: the client gets ``431`` and the connection
  is closed at once, the rest is never read;
- ``max_headers``: header fields per request (``431`` too);
- ``header_timeout_ms``: the longest a request's head may take to arrive, from
  the connection's start or the request's first byte; then the connection is
  closed. The keep-alive timeout between requests stays uvicorn's.

The limits travel on uvicorn's ``Config`` (``config.edgeworks_wire``), which is
pickled to ``serve --workers N`` processes.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass, replace
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from runtime.limits import (
    DEFAULT_HEADER_TIMEOUT_MS,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    FD_RESERVE,
    MSG_HEADER_FIELDS,
    MSG_HEADER_TOO_LARGE,
)

__all__ = ["BoundedH11Protocol", "BoundedHttpToolsProtocol", "WireLimits", "protocol_class"]

logger = logging.getLogger("edgeworks.runtime")


@dataclass(frozen=True)
class WireLimits:
    """What one request's head may cost (``[limits]``)."""

    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_headers: int = DEFAULT_MAX_HEADERS
    header_timeout_ms: int = DEFAULT_HEADER_TIMEOUT_MS
    max_connections: int = DEFAULT_MAX_CONNECTIONS  # already capped by the fd limit

    @classmethod
    def from_limits(cls, limits: Any | None) -> WireLimits:
        """From ``[limits]`` (``None``: defaults), ``max_connections`` kept below the
        process's file-descriptor limit (``fd_budget``)."""
        wire = (
            cls()
            if limits is None
            else cls(
                limits.max_header_bytes,
                limits.max_headers,
                limits.header_timeout_ms,
                limits.max_connections,
            )
        )
        return replace(wire, max_connections=min(wire.max_connections, fd_budget()))


def fd_budget() -> int:
    """Connections this process can hold: its descriptor limit minus a reserve for the
    store, files and logs. Past the limit, libuv's accept drops new connections at once
    (its EMFILE handling), normal clients included; the cap keeps it from getting there."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_MAX_CONNECTIONS
    return max(1, soft - FD_RESERVE)


def _limits_of(config: Any) -> WireLimits:
    limits = getattr(config, "edgeworks_wire", None)
    return limits if isinstance(limits, WireLimits) else WireLimits()


class _HeadGuard(asyncio.Protocol):
    """The counting, the 431, the deadline and the room at the cap, shared by both
    protocols (first in their bases, so these methods wrap uvicorn's)."""

    transport: asyncio.Transport
    client: tuple[str, int] | None
    loop: asyncio.AbstractEventLoop

    def _guard_init(self, config: Any) -> None:
        self._wire = _limits_of(config)
        self._head_bytes = 0  # of the request whose head is arriving
        self._head_fields = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._rejected = False
        self._heads = 0  # heads received whole on this connection
        self._head_since = 0.0  # loop time the connection started waiting for a head

    connections: set[Any]
    cycle: Any

    def _waiting_for_head(self) -> bool:
        """Open, between responses, and no head (or part of one) being processed."""
        return (
            self._in_head()
            and not self.transport.is_closing()
            and (self.cycle is None or self.cycle.response_complete)
        )

    def _make_room(self) -> None:
        """Over ``max_connections``: close the connection that has waited longest for a
        request head (a slow or idle client), so a new client is served, not refused."""
        if len(self.connections) <= self._wire.max_connections:
            return
        oldest: _HeadGuard | None = None
        for conn in self.connections:
            if conn is self or not isinstance(conn, _HeadGuard) or not conn._waiting_for_head():
                continue
            if oldest is None or conn._head_since < oldest._head_since:
                oldest = conn
        if oldest is not None:
            oldest._cancel_head_timer()
            oldest.transport.close()
            # Not counted from now on (its connection_lost comes one loop turn later).
            self.connections.discard(oldest)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._head_since = self.loop.time()
        self._start_head_timer()
        self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._rejected:
            self._guarded_feed(data)

    def _in_head(self) -> bool:
        raise NotImplementedError

    def _feed(self, data: bytes) -> None:
        raise NotImplementedError

    def _guarded_feed(self, data: bytes) -> None:
        """Feed ``data`` to the parser, never more head bytes than the limit allows."""
        if not self._in_head():
            self._feed(data)
            return
        if self._head_timer is None:
            self._start_head_timer()
        budget = self._wire.max_header_bytes - self._head_bytes
        head = data if len(data) <= budget else data[:budget]
        self._head_bytes += len(head)
        heads = self._heads
        self._feed(head)
        if self.transport.is_closing() or len(data) <= budget:
            return
        if self._heads == heads:  # the budget is spent and this head is still arriving
            self._reject(MSG_HEADER_TOO_LARGE.format(limit=self._wire.max_header_bytes))
        else:
            # A head completed inside the budget (pipelined requests may follow in
            # the rest): count the rest afresh.
            self._guarded_feed(data[budget:])

    def _head_done(self) -> None:
        """The head of a request arrived whole: its deadline and counts are over."""
        self._cancel_head_timer()
        self._heads += 1
        self._head_bytes = 0
        self._head_fields = 0

    def _reject(self, reason: str) -> None:
        self._rejected = True
        client = f"{self.client[0]}" if self.client else "-"
        logger.warning("%s: 431 %s; connection closed", client, reason)
        body = reason.encode() + b"\n"
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()
        self._cancel_head_timer()

    def _start_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(
            self._wire.header_timeout_ms / 1000, self._head_timed_out
        )

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head() and not self.transport.is_closing():
            self.transport.close()  # a slow (or idle) client: free the socket


class BoundedHttpToolsProtocol(_HeadGuard, HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded request head (module docstring)."""

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._guard_init(config)
        self._awaiting_head = True

    def _in_head(self) -> bool:
        return self._awaiting_head

    def _feed(self, data: bytes) -> None:
        HttpToolsProtocol.data_received(self, data)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_fields += 1
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        if self._head_fields > self._wire.max_headers:
            # Before the request reaches the app: nothing else answers it.
            self._reject(MSG_HEADER_FIELDS.format(limit=self._wire.max_headers))
            return
        self._head_done()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._rejected:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._rejected:
            return
        self._awaiting_head = True  # what comes next is the next request's head
        self._head_since = self.loop.time()
        super().on_message_complete()


class BoundedH11Protocol(_HeadGuard, H11Protocol):
    """uvicorn's h11 protocol with the same byte limit and deadline (h11 itself refuses a
    head over ``max_header_bytes``: ``h11_max_incomplete_event_size``); the field count
    is checked by the httptools protocol, which ``serve`` and ``dev`` use."""

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._guard_init(config)

    def _in_head(self) -> bool:
        return bool(self.conn.their_state is h11.IDLE)

    def _feed(self, data: bytes) -> None:
        was_in_head = self._in_head()
        H11Protocol.data_received(self, data)
        if was_in_head and not self._in_head():
            self._head_done()


def protocol_class(http: str) -> type[asyncio.Protocol]:
    """The bounded protocol for uvicorn's ``http`` setting (``auto``, ``httptools``, ``h11``)."""
    if http == "h11":
        return BoundedH11Protocol
    if http == "auto":
        try:
            import httptools  # noqa: F401
        except ImportError:  # pragma: no cover - uvicorn[standard] brings it
            return BoundedH11Protocol
    return BoundedHttpToolsProtocol
