"""Process supervision of ``edgeworks serve``: generations of server processes, HUP reload.

A *generation* is N spawned processes (fresh interpreters: they import the worker's
current code and read the current config) serving one shared listening socket.
The parent process supervises the serving generation:

- a process that dies on its own is replaced;
- ``SIGHUP`` reloads: the parent validates the config, starts a new generation
  and waits until every new process has started serving (its lifespan startup
  done, accepting on the socket). Only then are the old processes told to drain
  (``SIGUSR1``): they stop accepting, answer what arrives on their open
  connections with ``Connection: close`` (clients reconnect, to a new process),
  and exit through the usual graceful shutdown. If the config is invalid, or a
  new process exits or does not start serving within ``RELOAD_READY_TIMEOUT_S``
  (an import error in the worker, a store that cannot be opened), the new
  processes are stopped, the error is logged and the old ones keep serving;
- ``SIGTERM``/``SIGINT`` stop every process gracefully (in-flight requests
  finish, ``wait_until`` work drains) and the parent exits 0.

``serve --workers 1`` runs its server in the parent process itself (a faster
start); its first ``SIGHUP`` starts a generation like above, drains the
in-process server, and the parent supervises from then on.

See docs/operations.md (HUP reload).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from types import FrameType
from typing import TYPE_CHECKING, Any

from runtime.limits import (
    DRAIN_IDLE_GRACE_S,
    DRAIN_SIGNAL,
    MSG_RELOAD_CONFIG,
    MSG_RELOAD_FAILED,
    MSG_RELOADED,
    RELOAD_READY_TIMEOUT_S,
    RESPAWN_DELAY_S,
    STOP_MARGIN_S,
    SUPERVISE_POLL_S,
)

if TYPE_CHECKING:
    import socket
    from multiprocessing.connection import Connection

    from runtime.app import EdgeworksApp
    from runtime.config import Config
    from runtime.loader import LoadedWorker
    from runtime.serve import ServeOptions

# multiprocessing is imported where processes are spawned or awaited: `serve --workers 1`
# imports this module at start but needs it only on its first SIGHUP.

__all__ = ["Supervisor", "drain", "serve_child", "serve_in_process", "serve_multiprocess"]

logger = logging.getLogger("edgeworks.runtime")

_READY = b"ready"


class _Child:
    """One spawned server process and the pipe on which it reports that it serves."""

    def __init__(self, options: ServeOptions, sock: socket.socket) -> None:
        import multiprocessing

        spawn = multiprocessing.get_context("spawn")
        reader, writer = spawn.Pipe(duplex=False)
        self.ready_pipe: Connection = reader
        self.process = spawn.Process(
            target=serve_child,
            args=(json.dumps(asdict(options)), sock, writer),
            name="edgeworks-serve",
        )
        self.process.start()
        writer.close()  # the child holds its own copy; EOF here means it died
        self.ready = False

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def signal(self, signum: int) -> None:
        if self.process.is_alive():
            os.kill(self.pid, signum)


class Supervisor:
    """Runs generations of ``options.workers`` processes on ``sock`` (see module doc)."""

    def __init__(
        self,
        options: ServeOptions,
        sock: socket.socket,
        validate: Callable[[], object],
        *,
        graceful_s: float,
    ) -> None:
        self.options = options
        self.sock = sock
        self.validate = validate  # raises ConfigError (or similar) when the config is bad
        self.graceful_s = graceful_s
        self.current: list[_Child] = []
        self.draining: list[_Child] = []
        self.reloads = 0
        self._reload_requested = False
        self._stop_requested = False

    # --- signals (set flags; the loop acts on them) -----------------------------

    def install_signals(self) -> None:
        signal.signal(signal.SIGHUP, self._on_hup)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self._reload_requested = True

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stop_requested = True

    def request_reload(self) -> None:
        self._reload_requested = True

    # --- generations -----------------------------------------------------------

    def start_generation(self) -> list[_Child] | None:
        """Spawn a generation and wait until it serves; ``None`` (logged) if it failed."""
        return self.wait_serving(self.spawn())

    def spawn(self) -> list[_Child]:
        """Start a generation's processes. Call from a thread that outlives them (the main
        thread): on Linux a child is told to stop when the thread that spawned it ends."""
        return [_Child(self.options, self.sock) for _ in range(self.options.workers)]

    def wait_serving(self, children: list[_Child]) -> list[_Child] | None:
        """Wait until every process of ``children`` serves; else stop them all, log why
        and return ``None``. Any thread may wait."""
        from multiprocessing.connection import Connection, wait

        deadline = time.monotonic() + RELOAD_READY_TIMEOUT_S
        waiting = {child.ready_pipe: child for child in children}
        while waiting and not self._stop_requested:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for pipe in wait(list(waiting), timeout=min(left, SUPERVISE_POLL_S)):
                assert isinstance(pipe, Connection)  # what we waited on
                child = waiting.pop(pipe)
                try:
                    child.ready = pipe.recv_bytes() == _READY
                except (EOFError, OSError):
                    child.ready = False
                pipe.close()
                if not child.ready:
                    waiting.clear()  # one failed: the generation failed
                    break
        if all(child.ready for child in children):
            return children
        exited = [c for c in children if c.process.exitcode is not None]
        detail = ", ".join(f"pid {c.pid} exited with code {c.process.exitcode}" for c in exited)
        for child in children:
            if child.ready:  # it already serves connections: close them cleanly too
                child.signal(getattr(signal, DRAIN_SIGNAL))
            else:
                child.ready_pipe.close()
        self.stop([child for child in children if not child.ready])
        self._join(children, self.graceful_s + DRAIN_IDLE_GRACE_S + STOP_MARGIN_S)
        if not self._stop_requested:
            timeout = f"not serving after {RELOAD_READY_TIMEOUT_S:.0f} s"
            logger.error(MSG_RELOAD_FAILED.format(detail=detail or timeout))
        return None

    def reload_allowed(self) -> bool:
        """Whether the config validates now (else the error is logged)."""
        try:
            self.validate()
        except Exception as exc:
            logger.error(MSG_RELOAD_CONFIG.format(error=exc))
            return False
        return True

    def reload(self) -> bool:
        """Replace the serving generation with a new one; the old keeps serving on failure."""
        self._reload_requested = False
        if not self.reload_allowed():
            return False
        new = self.start_generation()
        if new is None:
            return False
        old = self.current
        self.serving(new)
        for child in old:
            child.signal(getattr(signal, DRAIN_SIGNAL))
        self.draining.extend(old)
        return True

    def serving(self, generation: list[_Child]) -> None:
        """Make ``generation`` (started by :meth:`start_generation`) the serving one."""
        self.current = generation
        self.reloads += 1
        logger.info(MSG_RELOADED.format(pids=", ".join(str(c.pid) for c in generation)))

    # --- the loop -----------------------------------------------------------------

    def run(self) -> int:
        """Supervise until SIGTERM/SIGINT; the serving generation must already be set."""
        from multiprocessing.connection import wait

        while not self._stop_requested:
            sentinels = [c.process.sentinel for c in self.current + self.draining]
            wait(sentinels, timeout=SUPERVISE_POLL_S)
            self.draining = [c for c in self.draining if c.process.is_alive()]
            for index, child in enumerate(self.current):
                if not child.process.is_alive() and not self._stop_requested:
                    logger.warning(
                        "serve process %d exited (code %s); starting a new one",
                        child.pid,
                        child.process.exitcode,
                    )
                    time.sleep(RESPAWN_DELAY_S)  # a crash loop must not spin
                    self.current[index] = _Child(self.options, self.sock)
            if self._reload_requested and not self._stop_requested:
                self.reload()
        self.stop(self.current + self.draining)
        return 0

    def stop(self, children: list[_Child]) -> None:
        """SIGTERM (graceful shutdown), then wait; kill what is still running after that."""
        for child in children:
            child.signal(signal.SIGTERM)
        self._join(children, self.graceful_s + DRAIN_IDLE_GRACE_S + STOP_MARGIN_S)

    @staticmethod
    def _join(children: list[_Child], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for child in children:
            child.process.join(max(0.0, deadline - time.monotonic()))
            if child.process.is_alive():
                child.process.kill()
                child.process.join()


# --- how serve runs its processes -----------------------------------------------------


def _supervisor(options: ServeOptions, sock: socket.socket, config: Config) -> Supervisor:
    from runtime.serve import graceful_s, load_serve_config

    # Spawned processes get absolute paths (cwd) and the one cron lock of this serve.
    assert options.cron_lock is not None
    child = replace(options, cwd=options.cwd or os.getcwd())
    return Supervisor(
        child, sock, validate=lambda: load_serve_config(options), graceful_s=graceful_s(config)
    )


def serve_in_process(
    config: Config,
    options: ServeOptions,
    worker: LoadedWorker,
    sock: socket.socket,
    stopped_event: threading.Event,
    hup_pending: threading.Event,
) -> int:
    """One process serves in the parent (the fastest start). Its first SIGHUP starts a
    spawned generation; once that serves, this server drains and the parent supervises.

    ``stopped_event`` is set once the server has shut down; ``hup_pending``: a SIGHUP
    came before the server could act on it."""
    from runtime._listen import make_server
    from runtime.serve import EXIT_FAILURE, EXIT_OK, build_app, serve_uvicorn_config

    app = build_app(config, options, worker)
    supervisors: list[Supervisor] = []  # made on the first SIGHUP (multiprocessing is not
    handoff: list[Any] = []  # imported before then: a faster start)
    reloading: list[threading.Thread] = []
    # uvicorn closes the socket it served on when it stops; the supervisor that takes
    # over keeps spawning processes on this copy.
    spare = sock.dup()

    async def stopped() -> None:
        stopped_event.set()  # the signal uvicorn re-raises after this shutdown is a no-op

    app.on_shutdown.append(stopped)

    def wait_then_drain(
        supervisor: Supervisor, children: list[Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        generation = supervisor.wait_serving(children)
        if generation is not None:
            handoff.append(generation)
            supervisor.serving(generation)
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(drain(server, app)))

    async def serving() -> None:
        loop = asyncio.get_running_loop()

        def on_hup() -> None:
            if (reloading and reloading[-1].is_alive()) or handoff:
                # A reload is under way, or done and this server drains: the code may
                # have changed again since it started, so the supervisor reloads once
                # more when it takes over (dropping this HUP lost the reload).
                supervisors[0].request_reload()
                return
            if not supervisors:
                supervisors.append(_supervisor(options, spare, config))
            supervisor = supervisors[0]
            if not supervisor.reload_allowed():
                return
            # Spawned from this (the main) thread, which outlives them; a thread waits.
            children = supervisor.spawn()
            thread = threading.Thread(
                target=wait_then_drain, args=(supervisor, children, loop), name="edgeworks-reload"
            )
            reloading.append(thread)
            thread.start()

        loop.add_signal_handler(signal.SIGHUP, on_hup)
        if hup_pending.is_set():
            on_hup()

    server = make_server(serve_uvicorn_config(app, config), after_startup=serving)
    try:
        server.run(sockets=[sock])
        for thread in reloading:
            thread.join()
        if handoff and app.draining:  # reloaded: the spawned generation serves from now on
            supervisors[0].install_signals()
            return supervisors[0].run()
        for generation in handoff:  # stopped while a reload was starting
            supervisors[0].stop(generation)
        return EXIT_OK if server.started else EXIT_FAILURE
    finally:
        stopped_event.set()
        spare.close()


def serve_multiprocess(config: Config, options: ServeOptions, sock: socket.socket) -> int:
    """``options.workers`` spawned processes on ``sock``, supervised until SIGTERM/SIGINT."""
    from runtime.serve import EXIT_FAILURE

    supervisor = _supervisor(options, sock, config)
    supervisor.install_signals()  # a SIGHUP before now: the generation below is new anyway
    generation = supervisor.start_generation()
    if generation is None:
        return EXIT_FAILURE
    supervisor.current = generation  # the first generation: no "reloaded" line
    return supervisor.run()


# --- inside a server process ---------------------------------------------------------


async def drain(server: Any, app: EdgeworksApp) -> None:
    """Stop accepting, close each open connection after its next response (``Connection:
    close``; idle ones after ``DRAIN_IDLE_GRACE_S``), then shut down as on SIGTERM."""
    app.draining = True
    for listener in server.servers:
        listener.close()  # this process only: the socket stays open in the others
    deadline = time.monotonic() + DRAIN_IDLE_GRACE_S
    while server.server_state.connections and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    server.should_exit = True


def serve_child(options_json: str, sock: socket.socket, ready: Connection) -> None:
    """Entry of a spawned server process: load config and worker, serve ``sock``, and
    say ``ready`` on the pipe once serving (or close it: the parent sees the failure)."""
    from runtime._listen import configure_logging, make_server
    from runtime.serve import ServeOptions, build_app, load_serve_config, serve_uvicorn_config

    _stop_with_parent()
    options = ServeOptions(**json.loads(options_json))
    configure_logging("edgeworks")
    try:
        config = load_serve_config(options)
        app = build_app(config, options)
    except Exception as exc:  # config or worker import error: logged, the parent keeps the old
        logger.error("a new serve process could not load the worker: %s", exc)
        ready.close()
        sys.exit(1)

    async def serving() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(
            getattr(signal, DRAIN_SIGNAL), lambda: asyncio.ensure_future(drain(server, app))
        )
        ready.send_bytes(_READY)
        ready.close()

    server = make_server(serve_uvicorn_config(app, config), after_startup=serving)
    with contextlib.suppress(KeyboardInterrupt):  # the parent stops us: nothing to report
        server.run(sockets=[sock])
    sys.exit(0 if server.started else 1)


def _stop_with_parent() -> None:
    """Linux: get SIGTERM when the parent dies (even by SIGKILL), so that no orphaned
    server keeps the port; elsewhere the parent's own SIGTERM handling is all there is.
    (Strictly: when the parent's *thread* that spawned us ends; see ``Supervisor.spawn``.)"""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before prctl: stop now
        sys.exit(1)
