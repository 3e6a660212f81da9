"""``edgeworks dev``: the hot-reloading development server (docs/dev.md).

One process, one event loop: uvicorn serves the runtime's app in dev mode
(``create_app(host, mode="dev")``) while a watcher thread reports changes.

- Code change: the worker and the project modules it imports are imported
  again in a fresh namespace (``runtime.dev.reload``) and swapped into the
  :class:`~runtime.host.WorkerHost` in one step; in-flight requests finish on
  the old generation (a stream still open ``DEV_OLD_GENERATION_GRACE_S``
  later is ended); KV state and the open port stay.
- Load failure: the host answers every request with the error page (HTML for
  browsers, text for curl) and the traceback goes to the terminal, until the
  next good save.
- Config or ``.dev.vars`` change: config, bindings and env are rebuilt in the
  process; an invalid config is shown like a code error.
- Bucket change: the changed files are redeployed through ``sites.deploy``.
- After every reload, open pages reload (live reload, SSE).

- Queues: one consumer per ``[[queues.consumers]]`` runs in this process; each
  batch runs on the generation current when it starts (a code change takes
  effect for the next batch; the batch in flight finishes on the old code). A
  config change rebuilds the consumers. Messages persist in the store.

Dev-only endpoints: ``GET /__edgeworks/status`` (JSON: reload count, last
trigger, last error), ``GET /__edgeworks/live-reload`` (SSE),
``POST /__edgeworks/scheduled?cron=...`` (runs ``scheduled``) and
``GET /__edgeworks/queues`` (JSON counts per queue).

>>> server = DevServer(DevOptions(port=0))
>>> exit_code = asyncio.run(server.run())
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from runtime._listen import configure_logging, make_server, url_of
from runtime.dev.generations import GenerationReaper
from runtime.dev.pages import (
    LIVE_RELOAD_PATH,
    LiveReload,
    always_revalidate,
    inject_live_reload,
)
from runtime.dev.plan import ChangeKind, WatchPlan
from runtime.dev.project import (
    DevOptions,
    deploy_bucket,
    load_dev_config,
    open_dev_store,
    render_banner,
    store_url,
    watch_plan,
)
from runtime.dev.reload import fresh_import, load_settled, not_yet_loaded
from runtime.dev.routes import (
    QUEUES_PATH,
    SCHEDULED_PATH,
    STATUS_PATH,
    ReloadStatus,
    listen,
    queues_route,
    scheduled_route,
    server_config,
    status_route,
)
from runtime.dev.watch import Batch, Watcher
from runtime.errorpage import is_one_line, user_traceback
from runtime.errors import ConfigError, WorkerLoadError
from runtime.limits import DEV_WATCH_READY_TIMEOUT_S

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from kv.backends.base import Store
    from queues import ConsumerGroup, QueueStore
    from runtime.admin import AdminApp
    from runtime.config import Config
    from runtime.cron import CronRunner
    from runtime.dev.locations import Locations
    from runtime.env import Env
    from runtime.host import WorkerHost
    from runtime.loader import LoadedWorker

__all__ = ["QUEUES_PATH", "SCHEDULED_PATH", "STATUS_PATH", "DevOptions", "DevServer", "run_dev"]

logger = logging.getLogger("edgeworks.dev")


class DevServer:
    """The dev server: config, store, host, app, watcher and uvicorn in one process."""

    def __init__(
        self,
        options: DevOptions,
        *,
        out: TextIO | None = None,
        mounts: Mapping[str, ASGIApp] | None = None,
    ) -> None:
        self.options = options
        self.out = out or sys.stdout
        #: Extra dev-only routes (exact paths under ``/__edgeworks/``), e.g. the simulated locations' routes.
        self.mounts = dict(mounts or {})
        #: Simulated locations (``--locations``): per-location caches, header, clock.
        self.locations: Locations | None = None
        if options.locations:
            from runtime.dev.locations import Locations

            self.locations = Locations.from_option(options.locations)
        self.status = ReloadStatus()
        self.live = LiveReload()
        self.config: Config | None = None
        self.store: Store | None = None
        self.queue_store: QueueStore | None = None
        self.consumers: ConsumerGroup | None = None
        self.host: WorkerHost | None = None
        self.plan: WatchPlan | None = None
        self.watcher: Watcher | None = None
        self.port: int | None = None
        self._lock = asyncio.Lock()
        self._hash_cache: Any = None
        self.cron: CronRunner | None = None
        self._loaded: dict[Path, tuple[int, int]] = {}  # (size, crc32) as last loaded
        self.reaper: GenerationReaper | None = None
        self.admin: AdminApp | None = None

    # --- configuration, store, env ----------------------------------------------------

    def load_config(self) -> Config:
        """Read edgeworks.toml (+ .dev.vars); raises ``ConfigError``."""
        return load_dev_config(self.options)

    def store_url(self, config: Config) -> str:
        """The KV store URL dev uses for ``config`` (see ``_devproject.store_url``)."""
        return store_url(self.options, config)

    def build_env(self, config: Config, store: Store) -> Env:
        """The bindings of ``config`` over ``store``, with no edge cache (strong reads)."""
        from runtime.env import env_from_config

        return env_from_config(
            config, store, cache=None, queue_store=self.queue_store, after_send=self._sent
        )

    async def _queue_rows(self) -> list[dict[str, Any]]:
        """The queues' counts for the metrics (none before the store is open)."""
        if self.config is None or self.queue_store is None:
            return []
        from runtime.consumers import queue_overview

        return await queue_overview(self.config, self.queue_store)

    def _sent(self, queue: str) -> None:
        if self.consumers is not None:
            self.consumers.notify(queue)

    # --- loading the worker ----------------------------------------------------------

    def load_worker(self, config: Config) -> LoadedWorker:
        """Import the worker and its project modules afresh; raises ``WorkerLoadError``."""
        from runtime.consumers import check_queue_handler
        from runtime.loader import load_worker

        path = config.worker_path()
        root = config.root
        worker = fresh_import(root, lambda: load_worker(path, project_root=root))
        check_queue_handler(config, worker)
        return worker

    async def _load_settled(self, config: Config, changed: set[Path]) -> LoadedWorker:
        """Load; retried while the changed files are still being written (``load_settled``)."""
        return await load_settled(lambda: self.load_worker(config), changed, self._loaded)

    # --- sites ---------------------------------------------------------------------------

    async def deploy_site(self, config: Config, changed: set[Path] | None = None) -> str | None:
        """Redeploy the bucket (only ``changed`` files are re-read); the summary line."""
        if self.store is None:
            return None
        if self._hash_cache is None and config.site is not None:
            from sites.deploy import HashCache

            self._hash_cache = HashCache()
        return await deploy_bucket(config, self.store, changed, self._hash_cache)

    # --- reloading -----------------------------------------------------------------------

    async def reload(self, batch: Batch) -> bool:
        """Act on one batch of changes; returns whether the new generation serves."""
        async with self._lock:
            batch = not_yet_loaded(batch, self._loaded)
            if not batch:
                return True
            started = time.perf_counter()
            root = self.config.root if self.config is not None else self.options.folder()
            trigger = batch.describe(root)
            ok = await self._reload(batch)
            elapsed = (time.perf_counter() - started) * 1000
            self.status.reloads += 1
            self.status.last_trigger = trigger
            self.status.last_reload_ms = round(elapsed, 2)
            if ok:
                self.status.error = None
                self._say(f"Reloaded in {elapsed:.1f}ms ({trigger})")
            else:
                self._say(f"Reload failed ({trigger}): {self.status.error}")
            self.live.notify(trigger)
            return ok

    async def _reload(self, batch: Batch) -> bool:
        assert self.host is not None and self.store is not None
        config = self.config
        if ChangeKind.CONFIG in batch.kinds or config is None:
            try:
                config = self.load_config()
            except ConfigError as exc:
                self._fail(exc, show_traceback=False)
                return False
            if self.store_url(config) != self.store_url(self.config or config):
                self._say("note: the KV store setting changed; restart edgeworks dev to use it")
            self.config = config
            if self.admin is not None:
                from runtime.admin.mount import refresh

                refresh(self.admin, config)
            await self._restart_cron(config)
            await self._restart_consumers(config)
            new_plan = watch_plan(config)
            if new_plan != self.plan:
                self._restart_watcher(new_plan)
        if ChangeKind.BUCKET in batch.kinds or (
            ChangeKind.CONFIG in batch.kinds and config.site is not None
        ):
            changed = batch.paths.get(ChangeKind.BUCKET)
            try:
                summary = await self.deploy_site(config, changed)
            except Exception as exc:
                self._fail(exc, show_traceback=not _is_user_error(exc))
                return False
            if summary:
                self._say(f"Deployed site: {summary}")
        code_changed = batch.kinds & {ChangeKind.CODE, ChangeKind.CONFIG}
        if code_changed or self.host.current.error is not None:
            changed = set().union(*(batch.paths.get(k, set()) for k in code_changed))
            try:
                worker = await self._load_settled(config, changed)
            except (WorkerLoadError, ConfigError) as exc:
                self._fail(exc, show_traceback=not _is_user_error(exc))
                return False
            self.host.swap(worker, self.build_env(config, self.store))
            if self.reaper is not None:
                self.reaper.swapped()  # streams on the old code end after a grace period
        return True

    def _fail(self, exc: BaseException, *, show_traceback: bool) -> None:
        assert self.host is not None
        self.host.fail(exc)
        self.status.error = str(exc)
        if show_traceback and not is_one_line(exc):
            # The user's part: the SyntaxError / import-time exception behind a load error,
            # without edgeworks' own frames (unless --debug).
            traceback.print_exception(user_traceback(exc.__cause__ or exc), file=sys.stderr)

    def _say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    # --- watcher -------------------------------------------------------------------------

    def _restart_watcher(self, plan: WatchPlan) -> None:
        old = self.watcher
        self.plan = plan
        self.watcher = Watcher(plan, force_polling=self.options.force_polling)
        self.watcher.start()
        if old is not None:
            old.stop()

    async def _watch_loop(self) -> None:
        while True:
            watcher = self.watcher
            assert watcher is not None
            batch = await watcher.next_batch()
            if watcher is not self.watcher:
                continue  # restarted meanwhile (config moved the bucket)
            try:
                await self.reload(batch)
            except Exception:
                logger.exception("reload failed unexpectedly")

    # --- startup and serving -----------------------------------------------------------

    async def setup(self) -> ASGIApp:
        """Load config, open the store, deploy the site, load the worker; build the app.

        A config error at startup raises (exit 2); a worker that fails to load
        is served as the error page until it is fixed.
        """
        from queues import open_queue_store
        from runtime._standins import check_workers_package
        from runtime.app import create_app
        from runtime.errorpage import set_debug
        from runtime.host import RuntimeLimits, WorkerHost
        from runtime.wrangler import log_warnings

        set_debug(self.options.debug)
        check_workers_package()  # another distribution's `workers` stops dev at once
        config = self.load_config()
        log_warnings(config.cloudflare)  # once: a reload reads the config again, silently
        self.config = config
        self.store = await open_dev_store(self.store_url(config))
        self.queue_store = open_queue_store(self.store_url(config))
        self._restart_watcher(watch_plan(config))
        # With --locations the host serves each request with its location's env.
        make_host = self.locations.host if self.locations is not None else WorkerHost
        self.host = make_host(limits=RuntimeLimits.from_config(config.limits), origin=config.origin)
        env = self.build_env(config, self.store)
        self.host.set_env(env)
        if config.site is not None:
            try:
                summary = await self.deploy_site(config)
                self._say(f"Deployed site: {summary}")
            except Exception as exc:
                self._fail(exc, show_traceback=not _is_user_error(exc))
        try:
            worker = self.load_worker(config)
        except (WorkerLoadError, ConfigError) as exc:
            self._fail(exc, show_traceback=not _is_user_error(exc))
        else:
            if self.host.current.error is None:
                self.host.swap(worker, env)
        routes: dict[str, ASGIApp] = {
            STATUS_PATH: status_route(self.status, self._status_extra),
            SCHEDULED_PATH: scheduled_route(
                lambda: self.host, lambda: self.config.triggers.crons if self.config else ()
            ),
            QUEUES_PATH: queues_route(lambda: self.config, lambda: self.queue_store),
            LIVE_RELOAD_PATH: self.live,
            **self.mounts,
            **(self.locations.routes() if self.locations is not None else {}),
        }
        if self.options.admin:
            from runtime.admin.mount import build_admin

            self.admin = build_admin(
                self.store,
                config,
                mode="dev",
                host=self.options.host,
                token=self.options.admin_token,
                queue_store=self.queue_store,
                after_send=self._sent,
            )
        from runtime.metrics import Metrics

        metrics = Metrics(queues=self._queue_rows)
        app: ASGIApp = create_app(
            self.host, mode="dev", extra_routes=routes, admin=self.admin, metrics=metrics
        )
        host = self.host
        self.reaper = GenerationReaper(app, lambda: host.current)
        app = self.reaper
        if self._live_reload_enabled(config):
            app = inject_live_reload(app)
        app = always_revalidate(app)  # an edited asset reaches the (re)loaded page
        if self.locations is not None:  # X-Edgeworks-Location in and out
            app = self.locations.wrap(app)
        return app

    def _status_extra(self) -> dict[str, Any]:
        return {
            "generation_error": self.host is not None and self.host.current.error is not None,
            "live_reload_clients": self.live.clients,
            "port": self.port,
            "watching": self.plan.describe() if self.plan is not None else [],
            "watcher_alive": self.watcher is not None and self.watcher.alive,
        }

    def _live_reload_enabled(self, config: Config) -> bool:
        if self.options.live_reload is not None:
            return self.options.live_reload
        return config.site is not None

    def banner(self, url: str) -> str:
        """The startup banner: URL, bindings, state, watched paths."""
        config, host = self.config, self.host
        assert config is not None and host is not None and self.plan is not None
        extra = []
        if self._live_reload_enabled(config):
            extra.append(f"  live reload on ({LIVE_RELOAD_PATH})")
        if self.locations is not None:
            extra.append(self.locations.banner_line())
        from runtime.admin.mount import admin_banner

        why_off = "--no-admin" if not self.options.admin else "not on loopback: give --admin-token"
        extra += admin_banner(url, self.admin, why_off=why_off)
        return render_banner(
            config,
            worker=host.current.worker,
            url_store=self.store_url(config),
            plan=self.plan,
            url=url,
            extra=extra,
        )

    async def run(self) -> int:
        """Serve until Ctrl-C / SIGTERM; returns the exit code."""
        configure_logging()
        sock = listen(self.options.host, self.options.port)  # a busy port fails first
        self.port = int(sock.getsockname()[1])
        try:
            app = await self.setup()
            limits = self.config.limits if self.config is not None else None
            server = make_server(server_config(app, limits), self._on_exit)
        except BaseException:
            sock.close()
            await self._close()
            raise
        assert self.watcher is not None and self.config is not None
        await asyncio.to_thread(self.watcher.wait_ready, DEV_WATCH_READY_TIMEOUT_S)
        self._say(self.banner(url_of(self.options.host, sock)))
        watch_task = asyncio.create_task(self._watch_loop())
        await self._restart_cron(self.config)
        await self._restart_consumers(self.config)
        try:
            await server.serve(sockets=[sock])
        finally:
            watch_task.cancel()
            with contextlib.suppress(BaseException):
                await watch_task
            sock.close()
            await self._close()
        return 0

    async def _restart_cron(self, config: Config) -> None:
        """Cron triggers fire on schedule in dev too (the runtime's ``CronRunner``)."""
        from runtime.cron import CronRunner

        old, self.cron = self.cron, None
        if old is not None:
            await old.stop()
        if config.triggers.crons and self.host is not None:
            self.cron = CronRunner(self.host, config.triggers.crons)
            self.cron.start()

    async def _restart_consumers(self, config: Config) -> None:
        """(Re)build the queue consumers for ``config``; batches in flight finish first."""
        from runtime.consumers import consumer_group

        old, self.consumers = self.consumers, None
        if old is not None:
            await old.stop(timeout=config.limits.drain_ms / 1000)
        if self.host is not None and self.queue_store is not None:
            self.consumers = consumer_group(config, self.queue_store, self.host)
            self.consumers.start()

    def _on_exit(self) -> None:
        # Called from uvicorn's signal handling: end open SSE streams and stop watching now,
        # so shutdown never waits on a browser tab.
        self.live.close()
        if self.watcher is not None:
            self.watcher.stop()

    async def _close(self) -> None:
        if self.cron is not None:
            await self.cron.stop()
            self.cron = None
        if self.consumers is not None:
            drain = self.config.limits.drain_ms / 1000 if self.config is not None else 1.0
            await self.consumers.stop(timeout=drain)
            self.consumers = None
        if self.queue_store is not None:
            with contextlib.suppress(Exception):
                await self.queue_store.aclose()
            self.queue_store = None
        self.live.close()
        if self.watcher is not None:
            self.watcher.stop()
        if self.store is not None:
            with contextlib.suppress(Exception):
                await self.store.aclose()
            self.store = None


def _is_user_error(exc: BaseException) -> bool:
    """Errors with a clear message of their own (config, site deploy): no traceback needed."""
    if isinstance(exc, ConfigError):
        return True
    try:
        from sites.errors import SiteError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, SiteError)


def run_dev(options: DevOptions) -> int:
    """Run the dev server in a new event loop (the CLI entry); returns the exit code.

    SIGTERM stops like Ctrl-C: uvicorn handles both while serving and re-raises
    them after its graceful shutdown, which then ends here with exit code 0.
    """
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return asyncio.run(DevServer(options).run())
    except KeyboardInterrupt:
        return 0
