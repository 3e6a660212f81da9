"""The HTTP side of `edgeworks dev`: its own endpoints under ``/__edgeworks/``, its socket
and its uvicorn settings.

- :class:`ReloadStatus` and :func:`status_route`: ``GET /__edgeworks/status``.
- :func:`scheduled_route`: ``POST /__edgeworks/scheduled?cron=...``.
- :func:`queues_route`: ``GET /__edgeworks/queues`` (counts per queue).
- :func:`listen` and :func:`server_config`: dev's choices over what it shares
  with ``serve`` (``runtime._listen``).
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from runtime._listen import bind_socket, uvicorn_config
from runtime.errors import ConfigError
from runtime.limits import DEV_GRACEFUL_SHUTDOWN_S

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from queues import QueueStore
    from runtime.config import Config
    from runtime.host import WorkerHost

logger = logging.getLogger("edgeworks.dev")

STATUS_PATH = "/__edgeworks/status"
SCHEDULED_PATH = "/__edgeworks/scheduled"
QUEUES_PATH = "/__edgeworks/queues"
DEFAULT_CRON = "* * * * *"  # the scheduled endpoint's cron when none is given or configured

Route = Callable[["Scope", "Receive", "Send"], Any]


@dataclass
class ReloadStatus:
    """What ``GET /__edgeworks/status`` reports about reloads."""

    reloads: int = 0
    last_trigger: str | None = None
    last_reload_ms: float | None = None
    error: str | None = None
    started_at: float = field(default_factory=time.time)

    def as_json(self, extra: Mapping[str, Any]) -> bytes:
        """The status document with ``extra`` fields merged in."""
        data = {
            "reloads": self.reloads,
            "last_trigger": self.last_trigger,
            "last_reload_ms": self.last_reload_ms,
            "error": self.error,
            "uptime_s": round(time.time() - self.started_at, 3),
            **extra,
        }
        return json.dumps(data).encode()


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """A complete, uncached response."""
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def status_route(status: ReloadStatus, extra: Callable[[], Mapping[str, Any]]) -> Route:
    """``GET /__edgeworks/status``: the reload status plus ``extra()`` fields, as JSON."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, status.as_json(extra()), b"application/json")

    return route


def scheduled_route(
    host: Callable[[], WorkerHost | None], crons: Callable[[], Sequence[str]]
) -> Route:
    """``POST /__edgeworks/scheduled?cron=...``: run ``scheduled`` now.

    ``cron`` defaults to the first configured trigger. 200 ``{"ok": true,
    "cron": ...}``, or 500 with the error (also logged with its traceback).
    """

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        from runtime.host import ScheduledEvent

        if scope["method"] != "POST":
            await send_bytes(send, 405, b"use POST\n", b"text/plain", [(b"allow", b"POST")])
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        configured = list(crons())
        cron = (query.get("cron") or [configured[0] if configured else DEFAULT_CRON])[0]
        current = host()
        assert current is not None
        try:
            await current.run_scheduled(ScheduledEvent(cron=cron, scheduled_time=time.time()))
        except Exception as exc:
            logger.error("scheduled(%r) failed", cron, exc_info=exc)
            body = json.dumps({"ok": False, "cron": cron, "error": str(exc)}).encode()
            await send_bytes(send, 500, body, b"application/json")
            return
        body = json.dumps({"ok": True, "cron": cron}).encode()
        await send_bytes(send, 200, body, b"application/json")

    return route


def queues_route(
    config: Callable[[], Config | None], store: Callable[[], QueueStore | None]
) -> Route:
    """``GET /__edgeworks/queues``: ``{"queues": [{"name", "ready", "delayed",
    "in_flight", "dead_lettered", "backlog_bytes", "oldest_timestamp"}, ...]}``;
    503 with the error when the store is unavailable."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        from runtime.consumers import queue_overview

        current, queues = config(), store()
        if current is None or queues is None:
            await send_bytes(send, 503, b'{"error": "not started"}', b"application/json")
            return
        try:
            rows = await queue_overview(current, queues)
        except Exception as exc:
            body = json.dumps({"error": str(exc)}).encode()
            await send_bytes(send, 503, body, b"application/json")
            return
        await send_bytes(send, 200, json.dumps({"queues": rows}).encode(), b"application/json")

    return route


def listen(host: str, port: int) -> socket.socket:
    """The dev server's socket; a busy port is a ``ConfigError`` (exit 2)."""
    try:
        return bind_socket(host, port)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}; "
            "pick another --port (0 = any free port)"
        ) from None


def server_config(app: ASGIApp) -> Any:
    """uvicorn for one developer: plain asyncio, open responses cut after a short grace."""
    return uvicorn_config(
        app,
        graceful_shutdown_s=DEV_GRACEFUL_SHUTDOWN_S,
        log_level="warning",
        loop="asyncio",
        http="auto",
        ws="none",  # workers speak HTTP only; skips importing websockets
    )
