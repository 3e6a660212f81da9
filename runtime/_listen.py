"""What ``edgeworks serve`` and ``edgeworks dev`` share to listen: socket, URL, logging, uvicorn.

- :func:`bind_socket`: the listening socket, bound by edgeworks itself before
  any other work, so a busy port fails at once and ``--port 0`` knows its port.
- :func:`url_of`: the ``http://host:port`` a socket serves (the banner's line).
- :func:`configure_logging`: one plain line per record on stderr.
- :func:`uvicorn_config` and :func:`make_server`: uvicorn set up the way both
  servers need it (our own access log, our own logging, lifespan on).

uvicorn is imported inside the functions that need it: the CLI's other
commands never pay for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.config import LimitsConfig

LISTEN_BACKLOG = 2048  # pending connections the kernel queues per listening socket
QUIET_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "watchfiles")


def bind_socket(host: str, port: int, *, inheritable: bool = False) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: a free one); raises ``OSError``.

    ``inheritable``: spawned worker processes share it (``serve --workers N``);
    otherwise it is non-blocking, for one event loop.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
    # without it a keep-alive response's body waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    if inheritable:
        sock.set_inheritable(True)
    else:
        sock.setblocking(False)
    return sock


def url_of(host: str, sock: socket.socket) -> str:
    """The ``http://host:port`` the socket serves (IPv6 hosts in brackets)."""
    port = int(sock.getsockname()[1])
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def line_buffered_output() -> None:
    """A worker's ``print()`` reaches the terminal at once, like ``console.log`` in
    wrangler dev, even when stdout is a file or a pipe (block-buffered by default)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(line_buffering=True)


def configure_logging(logger_name: str | None = None) -> None:
    """One plain line per record on stderr, without uvicorn's chatter.

    ``logger_name`` ``None`` (dev): the root logger, so the worker's own logging
    shows too; ``"edgeworks"`` (serve): only edgeworks' access log and worker
    errors, which then do not propagate further.
    """
    line_buffered_output()
    logger = logging.getLogger(logger_name)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        if logger_name is not None:
            logger.propagate = False
    logger.setLevel(logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def uvicorn_config(
    app: Any, *, graceful_shutdown_s: int, limits: LimitsConfig | None = None, **options: Any
) -> Any:
    """A ``uvicorn.Config`` for ``app``; ``options`` are the server's own (loop, http, ...).

    Both servers write their own access line (``runtime.access_log``) and set
    up logging themselves, and run the app's lifespan (startup, drain on exit).
    Both run the bounded HTTP protocols of ``runtime._protocol`` with ``[limits]``
    ``max_header_bytes``, ``max_headers`` and ``header_timeout_ms``, and
    ``max_connections`` (below the fd limit): past it the connection that waited
    longest for a request head is closed, or, when none waits, uvicorn's
    ``limit_concurrency`` answers 503.
    """
    import uvicorn

    from runtime._protocol import WireLimits, protocol_class

    wire = WireLimits.from_limits(limits)
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=graceful_shutdown_s,
        http=protocol_class(options.pop("http", "auto")),
        # uvicorn answers 503 once this many are open, counting the new one: the
        # protocols first close a slow client to make room (runtime._protocol).
        limit_concurrency=wire.max_connections + 1,
        h11_max_incomplete_event_size=wire.max_header_bytes,
        **options,
    )
    # Read by the protocols; pickled with the config to spawned processes.
    config.edgeworks_wire = wire  # type: ignore[attr-defined]
    return config


def make_server(
    config: Any,
    on_exit: Callable[[], None] | None = None,
    *,
    after_startup: Callable[[], Awaitable[None]] | None = None,
) -> Any:
    """A ``uvicorn.Server`` that calls ``on_exit`` on the running loop as soon as an exit
    is requested (Ctrl-C, SIGTERM), before the graceful shutdown waits on open responses,
    and awaits ``after_startup`` once it accepts connections (serve's reload waits on it)."""
    import uvicorn

    if on_exit is None and after_startup is None:
        return uvicorn.Server(config)
    loop = asyncio.get_running_loop() if on_exit is not None else None
    hook = on_exit
    started_hook = after_startup

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            # Runs in uvicorn's signal handler: schedule, never block.
            if loop is not None and hook is not None:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(hook)
            super().handle_exit(sig, frame)

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and started_hook is not None:
                await started_hook()

    return Server(config)
