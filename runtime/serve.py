"""``edgeworks serve``: the production server (docs/runtime.md).

The parent process validates everything before it binds: config (a
``ConfigError`` exits 2), the worker (``WorkerLoadError`` exits 1) and the
store (``store.check()``; exits 1). It then binds the socket itself, so
``--port 0`` prints the real port, and runs uvicorn (uvloop + httptools) on it:
in-process for ``--workers 1``, else N spawned processes sharing the socket,
supervised by the parent (``runtime.supervisor``: replacement of a dead process,
zero-downtime reload on SIGHUP). Every process is one location: its own
store connection and ``EdgeCache``; only one process at a time runs the cron
triggers (an ``flock`` on a file the parent creates). Every process runs the
queue consumers: they share the work through the store (leases, and
``max_concurrency`` counted across processes).

SIGTERM/SIGINT: uvicorn stops accepting, finishes in-flight requests, then the
lifespan shutdown stops the consumers (no new batches; batches in flight finish
within ``drain_ms``, the rest stay leased and are delivered again) and drains
``wait_until`` work within ``drain_ms``; exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from runtime._listen import bind_socket, configure_logging, url_of, uvicorn_config
from runtime.errors import ConfigError, WorkerLoadError
from runtime.limits import SERVE_DEFAULT_HOST, SERVE_DEFAULT_PORT

if TYPE_CHECKING:
    from runtime.app import EdgeworksApp
    from runtime.config import Config
    from runtime.loader import LoadedWorker

__all__ = ["ServeOptions", "build_app", "run_serve"]

logger = logging.getLogger("edgeworks.runtime")

SECRET_ENV_PREFIX = "EDGEWORKS_SECRET_"  # EDGEWORKS_SECRET_API_KEY=... -> secret API_KEY
CRON_LOCK_RETRY_S = 30.0  # a process without the cron lock retries this often
EXIT_OK = 0
EXIT_FAILURE = 1


@dataclass(frozen=True)
class ServeOptions:
    """What ``edgeworks serve`` was asked to do (all plain data: it crosses processes)."""

    config: str | None = None
    host: str = SERVE_DEFAULT_HOST
    port: int = SERVE_DEFAULT_PORT
    workers: int = 1
    overrides: dict[str, Any] = field(default_factory=dict)  # dotted config field -> value
    env_file: str | None = None
    access_log: bool = True
    cwd: str | None = None
    cron_lock: str | None = None
    debug: bool = False
    admin_token: str | None = None  # the admin API is served only with a token
    env: str | None = None  # --env NAME: a wrangler env.<NAME> section
    vars: tuple[tuple[str, str], ...] = ()  # --var NAME:VALUE, wins over vars and secrets
    metrics: bool = False  # serve /__edgeworks/metrics (docs/operations.md)
    metrics_dir: str | None = None  # where each process writes its metrics snapshot


def load_serve_config(options: ServeOptions) -> Config:
    """Config with the flags' overrides and secrets from ``--env-file`` and the environment.

    Secrets: the env file's entries; an environment variable of the same name
    overrides one; ``EDGEWORKS_SECRET_<NAME>`` adds secret ``NAME``. A secret
    overrides a var of the same name; ``--var`` overrides both.
    """
    from runtime.config import load_config, load_dev_vars

    config = load_config(
        options.config, cwd=options.cwd, overrides=options.overrides, env_name=options.env
    )
    secrets: dict[str, str] = {}
    source = "environment"
    if options.env_file is not None:
        secrets = load_dev_vars(config, Path(options.cwd or ".") / options.env_file)
        source = options.env_file
    for name in secrets:
        if name in os.environ:
            secrets[name] = os.environ[name]
    for name, value in os.environ.items():
        if name.startswith(SECRET_ENV_PREFIX) and len(name) > len(SECRET_ENV_PREFIX):
            secrets[name[len(SECRET_ENV_PREFIX) :]] = value
    cli_vars = {name: value for name, value in options.vars}
    if not secrets and not cli_vars:
        return config
    return config.with_secrets(secrets, source=source, vars=cli_vars)


def build_app(
    config: Config, options: ServeOptions, worker: LoadedWorker | None = None
) -> EdgeworksApp:
    """The serve app of one process: its own stores, EdgeCache, env, host, cron and
    queue consumers."""
    from kv import EdgeCache, open_store
    from runtime.app import create_app
    from runtime.cron import CronRunner
    from runtime.env import env_from_config
    from runtime.errorpage import set_debug
    from runtime.host import RuntimeLimits, WorkerHost
    from runtime.loader import load_worker

    set_debug(options.debug)
    store = open_store(config.kv.store_url)
    # Queues only when configured: a serve without them never imports the queue stores.
    queue_store = None
    if config.queues.producers or config.queues.consumers:
        from queues import open_queue_store

        queue_store = open_queue_store(config.kv.store_url)
    cache = EdgeCache(max_bytes=config.kv.cache_max_bytes)
    sent: list[Any] = []  # the consumer group, once built: local sends wake it
    env = env_from_config(
        config,
        store,
        cache=cache,
        queue_store=queue_store,
        after_send=lambda queue: sent[0].notify(queue) if sent else None,
    )
    if worker is None:
        worker = load_worker(config.worker_path(), project_root=config.root)
    host = WorkerHost(
        worker, env, limits=RuntimeLimits.from_config(config.limits), origin=config.origin
    )
    consumers = None
    if queue_store is not None:
        from runtime.consumers import consumer_group

        consumers = consumer_group(config, queue_store, host)
        sent.append(consumers)
    cron = CronRunner(host, config.triggers.crons)
    lock = _CronLock(options.cron_lock)
    background: list[asyncio.Future[None]] = []  # cron lock retry, metrics flush
    metrics = None
    if options.metrics:
        from runtime.metrics import Metrics

        queue_rows = None
        if queue_store is not None:
            from runtime.consumers import queue_overview

            store_of_queues = queue_store

            async def queue_rows() -> list[dict[str, Any]]:
                return await queue_overview(config, store_of_queues)

        metrics = Metrics(options.metrics_dir, queues=queue_rows)

    # Pub/sub cache invalidation between locations ([kv] invalidation = "pubsub").
    invalidators: list[Any] = []

    async def startup() -> None:
        # The parent ran store.check() once (a SQLite quick_check reads the whole file).
        from kv.invalidation import start_invalidation

        invalidator = await start_invalidation(
            store, cache, config.kv.invalidation, namespaces=tuple(config.kv_bindings.values())
        )
        if invalidator is not None:
            invalidators.append(invalidator)
        if lock.acquire():
            cron.start()
        elif cron.schedule.crons:
            background.append(asyncio.ensure_future(_retry_cron_lock(lock, cron)))
        if consumers is not None:
            consumers.start()
        if metrics is not None and metrics.folder is not None:
            background.append(asyncio.ensure_future(metrics.flush_forever()))

    async def shutdown() -> None:
        for invalidator in invalidators:  # stop listening before the store closes
            await invalidator.aclose()
        for task in background:
            task.cancel()
        await cron.stop()
        if consumers is not None:
            await consumers.stop(timeout=config.limits.drain_ms / 1000)
        await host.drain()
        if queue_store is not None:
            await queue_store.aclose()
        await store.aclose()
        lock.release()
        if metrics is not None:
            metrics.write()  # the last totals of this process stay in the sums

    admin = None
    if options.admin_token is not None:
        from runtime.admin.mount import build_admin

        admin = build_admin(
            store,
            config,
            mode="serve",
            host=options.host,
            token=options.admin_token,
            cache=cache,
            queue_store=queue_store,
            after_send=consumers.notify if consumers is not None else None,
        )

    # The lifespan runs the shutdown hooks, then host.aclose() (drain again, close fetcher).
    return create_app(
        host,
        mode="serve",
        admin=admin,
        access_log=options.access_log,
        on_startup=[startup],
        on_shutdown=[shutdown],
        metrics=metrics,
    )


async def _retry_cron_lock(lock: _CronLock, cron: Any) -> None:
    while not lock.acquire():
        await asyncio.sleep(CRON_LOCK_RETRY_S)
    cron.start()


class _CronLock:
    """At most one process of a ``serve`` runs cron triggers (no path: always this one)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self.path is None:
            return True
        if self._fd is not None:
            return True
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


async def _check_store(url: str) -> None:
    from kv import open_store

    store = open_store(url)
    try:
        await store.check()
    finally:
        await store.aclose()


def run_serve(options: ServeOptions) -> int:
    """Validate, bind, serve until SIGTERM/SIGINT; returns the exit code.

    Raises ``ConfigError`` for a bad config (the CLI exits 2).
    """
    # Until uvicorn takes over the signals, SIGTERM/SIGINT stop us at once (exit 0).
    # uvicorn re-raises a caught signal after its graceful shutdown with the handler
    # that was installed before it: that one is then a no-op, so a drain exits 0.
    _stopped.clear()
    _hup_pending.clear()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)
    # A SIGHUP before the server runs is kept for later, not fatal (its default action).
    signal.signal(signal.SIGHUP, lambda signum, frame: _hup_pending.set())
    configure_logging("edgeworks")
    config = load_serve_config(options)
    from runtime.wrangler import log_warnings

    log_warnings(config.cloudflare)
    from runtime.consumers import check_queue_handler
    from runtime.loader import load_worker

    try:
        worker = load_worker(config.worker_path(), project_root=config.root)
        check_queue_handler(config, worker)
    except WorkerLoadError as exc:
        if options.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    # [kv] invalidation = "pubsub" needs a Redis store; say so before binding.
    from kv.invalidation import check_invalidation

    try:
        check_invalidation(config.kv.store_url, config.kv.invalidation)
    except ValueError as exc:
        raise ConfigError(f"{config.path}: {exc}") from exc
    try:
        asyncio.run(_check_store(config.kv.store_url))
    except Exception as exc:
        if options.debug:
            raise
        print(f"error: KV store {config.kv.store_url}: {exc}", file=sys.stderr)
        return EXIT_FAILURE

    try:
        sock = bind_socket(options.host, options.port, inheritable=True)
    except OSError as exc:
        print(f"error: cannot listen on {options.host}:{options.port}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    url = url_of(options.host, sock)
    if options.admin_token is not None:
        from runtime.admin.limits import CLIENT_V4_PREFIX, PAGE_PATH

        print(f"Admin API on {url}{CLIENT_V4_PREFIX} (Bearer token required)", flush=True)
        print(f"Data browser on {url}{PAGE_PATH}", flush=True)
    print(f"Listening on {url}", flush=True)

    fd, lock_path = tempfile.mkstemp(prefix="edgeworks-cron-", suffix=".lock")
    os.close(fd)
    options = replace(options, cron_lock=lock_path)  # one cron runner across reloads
    if options.metrics:  # every process (and generation) adds its totals here
        options = replace(options, metrics_dir=tempfile.mkdtemp(prefix="edgeworks-metrics-"))
    try:
        if options.workers <= 1:
            from runtime.supervisor import serve_in_process

            return serve_in_process(config, options, worker, sock, _stopped, _hup_pending)
        from runtime.supervisor import serve_multiprocess

        return serve_multiprocess(config, options, sock)
    finally:
        sock.close()
        Path(lock_path).unlink(missing_ok=True)
        if options.metrics_dir is not None:
            shutil.rmtree(options.metrics_dir, ignore_errors=True)


_stopped = threading.Event()  # set once uvicorn has served and shut down
_hup_pending = threading.Event()  # a SIGHUP came before the server could act on it


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if not _stopped.is_set():
        raise KeyboardInterrupt  # before uvicorn runs: the CLI exits 0


def serve_uvicorn_config(app: Any, config: Config) -> Any:
    """uvicorn for production: uvloop and httptools; in-flight requests get their wall time."""
    return uvicorn_config(
        app,
        graceful_shutdown_s=graceful_s(config),
        limits=config.limits,
        loop="uvloop",
        http="httptools",
        ws="none",  # workers speak HTTP only (as in dev); skips importing websockets
    )


def graceful_s(config: Config) -> int:
    """Seconds in-flight requests get at shutdown: their wall time, plus one."""
    return max(1, config.limits.wall_ms // 1000 + 1)
