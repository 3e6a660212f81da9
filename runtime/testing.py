"""``WorkerClient``: unit-test a worker in-process with pytest (docs/runtime.md).

Each client has its own memory store and fake clock; outbound ``fetch`` goes to
the transport the test gives (an unmocked fetch raises, no socket is opened).
Requests go through the same ASGI app as ``serve`` and ``dev``, over
``httpx.ASGITransport``; ``wait_until`` work has finished when a request method
returns.

>>> async with WorkerClient("worker.py", kv={"COUNTER": {"hits": "41"}}) as client:
...     r = await client.get("/")
...     assert await client.env.COUNTER.get("hits") == "42"
...     client.clock.advance(3600)        # TTLs expire without sleeping

Queues (with ``config=``) live in a memory queue store: ``client.queues["jobs"]``
sends and inspects, ``await client.deliver_queues()`` runs every ready batch
now; delays and retry delays follow the fake clock.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from runtime._fetch import Fetcher
from runtime.app import create_app
from runtime.env import Env, build_env, env_from_config
from runtime.host import RuntimeLimits, ScheduledEvent, WorkerHost
from runtime.limits import MSG_UNMOCKED_FETCH
from runtime.loader import LoadedWorker, load_worker

if TYPE_CHECKING:
    from kv.backends.base import Store
    from queues import BatchResult, Consumer, QueueCounts, QueueStore
    from runtime.config import Config

__all__ = ["FakeClock", "TestQueue", "UnmockedFetchError", "WorkerClient"]

BASE_URL = "http://worker.test"  # the host requests made by a WorkerClient go to


class UnmockedFetchError(RuntimeError):
    """A worker under test fetched a URL the test did not mock."""


class FakeClock:
    """A clock for tests: ``clock()`` is epoch seconds that move only when told.

    >>> clock = FakeClock(1_700_000_000)
    >>> clock.advance(60)
    >>> clock()
    1700000060.0
    """

    def __init__(self, start: float | None = None) -> None:
        self.now = float(int(time.time()) if start is None else start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.now += seconds

    def set(self, now: float) -> None:
        """Jump to ``now`` (epoch seconds)."""
        self.now = float(now)


class TestQueue:
    """``client.queues[name]``: a producer for ``name`` on the client's fake clock,
    plus ``counts()`` to inspect the backlog (ready, delayed, in flight)."""

    def __init__(self, store: QueueStore, name: str, clock: FakeClock) -> None:
        from queues import Queue

        self.name = name
        self._store = store
        self._clock = clock
        self.producer = Queue(store, name, clock=clock)
        self.send = self.producer.send
        self.send_batch = self.sendBatch = self.producer.send_batch
        self.metrics = self.producer.metrics

    async def counts(self) -> QueueCounts:
        """The queue's backlog now (by the fake clock)."""
        return await self._store.counts(self.name, self._clock())


class _UnmockedTransport(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise UnmockedFetchError(MSG_UNMOCKED_FETCH.format(url=request.url))


class WorkerClient:
    """An async HTTP client for one worker (or a whole project with ``config=``).

    ``kv`` seeds namespaces (``{"BINDING": {key: value}}``; a binding the config
    does not declare is created with its name as namespace id); ``vars`` and
    ``secrets`` add or override bindings; ``transport`` answers outbound fetches
    (``httpx.MockTransport(handler)``); ``limits`` overrides ``[limits]``.
    """

    def __init__(
        self,
        worker: str | Path | None = None,
        *,
        config: str | Path | None = None,
        kv: Mapping[str, Mapping[str, Any]] | None = None,
        vars: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: RuntimeLimits | None = None,
        clock: FakeClock | None = None,
        origin: str | None = None,
    ) -> None:
        if worker is None and config is None:
            raise TypeError("WorkerClient needs a worker path or config=")
        self._worker_path = Path(worker) if worker is not None else None
        self._config_path = Path(config) if config is not None else None
        self._kv = {binding: dict(items) for binding, items in (kv or {}).items()}
        self._vars = dict(vars or {})
        self._secrets = dict(secrets or {})
        self._limits = limits
        self._origin = origin
        self.clock = clock or FakeClock()
        self.fetcher = Fetcher(transport=transport or _UnmockedTransport())
        self.config: Config | None = None
        self._store: Store | None = None
        self._queue_store: QueueStore | None = None
        self._consumers: list[Consumer] = []
        self._host: WorkerHost | None = None
        self._http: httpx.AsyncClient | None = None
        self._added_modules: list[str] = []
        self._added_paths: list[str] = []

    # --- lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> WorkerClient:
        from kv import open_store
        from queues import open_queue_store

        self._store = open_store("memory://")
        self._queue_store = open_queue_store("memory://")
        path, env = await self._build(self._store)
        limits = self._limits
        origin = self._origin
        if self.config is not None:
            limits = limits or RuntimeLimits.from_config(self.config.limits)
            origin = origin or self.config.origin
        root = self.config.root if self.config is not None else path.resolve().parent
        worker = self._load(path, root)
        self._host = WorkerHost(worker, env, limits=limits, origin=origin, fetcher=self.fetcher)
        if self.config is not None:
            from runtime.consumers import check_queue_handler, consumers

            check_queue_handler(self.config, worker)
            self._consumers = consumers(
                self.config, self._queue_store, self._host, clock=self.clock
            )
        app = create_app(self._host, mode="dev", access_log=False)
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _load(self, path: Path, root: Path) -> LoadedWorker:
        """Load the worker, remembering which modules and sys.path entries that added,
        so ``aclose`` can forget them: the next client (maybe another project with a
        ``helpers.py`` of its own) imports its own project modules."""
        modules_before = set(sys.modules)
        path_before = set(sys.path)
        worker = load_worker(path, project_root=root)
        for name in set(sys.modules) - modules_before:
            file = getattr(sys.modules[name], "__file__", None)
            if isinstance(file, str) and Path(file).resolve().is_relative_to(root):
                self._added_modules.append(name)
        self._added_paths = [entry for entry in sys.path if entry not in path_before]
        return worker

    async def aclose(self) -> None:
        """Finish background work and release the store and clients."""
        for name in self._added_modules:
            sys.modules.pop(name, None)
        for entry in self._added_paths:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)
        self._added_modules, self._added_paths = [], []
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._host is not None:
            await self._host.aclose()
            self._host = None
        if self._store is not None:
            await self._store.aclose()
            self._store = None
        if self._queue_store is not None:
            await self._queue_store.aclose()
            self._queue_store = None

    async def _build(self, store: Store) -> tuple[Path, Env]:
        namespaces: dict[str, str] = {}
        if self._config_path is not None:
            from runtime.config import load_config, load_dev_vars

            config = load_config(self._config_path, environ={})
            config = config.with_secrets({**load_dev_vars(config), **self._secrets})
            self.config = config
            path = self._worker_path or config.worker_path()
            env = env_from_config(config, store, clock=self.clock, queue_store=self._queue_store)
            bindings = env.as_dict()
            bindings.update(self._vars)
            namespaces = dict(config.kv_bindings)
            await self._deploy_site(config, bindings)
        else:
            assert self._worker_path is not None
            path = self._worker_path
            bindings = {**self._vars, **self._secrets}
        extra = {b: b for b in self._kv if b not in namespaces}
        bindings.update(build_env(store=store, kv_namespaces=extra, clock=self.clock).as_dict())
        env = Env(bindings)
        for binding, items in self._kv.items():
            namespace = getattr(env, binding)
            for key, value in items.items():
                if not isinstance(value, str | bytes):
                    value = json.dumps(value)
                await namespace.put(key, value)
        return path, env

    async def _deploy_site(self, config: Config, bindings: dict[str, Any]) -> None:
        if config.site is None:
            return
        from sites.deploy import deploy

        site = config.site
        await deploy(
            site.bucket,
            bindings["__STATIC_CONTENT"],
            **site.deploy_options(),
        )

    # --- what tests use ------------------------------------------------------------

    @property
    def env(self) -> Env:
        """The worker's ``env`` (the same namespace objects the worker uses)."""
        return self._running_host().current.env

    @property
    def host(self) -> WorkerHost:
        return self._running_host()

    def _running_host(self) -> WorkerHost:
        if self._host is None:
            raise RuntimeError("use the WorkerClient in `async with WorkerClient(...) as client:`")
        return self._host

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request to the worker (``kwargs`` as for ``httpx.AsyncClient.request``)."""
        host = self._running_host()
        assert self._http is not None
        response = await self._http.request(method, url, **kwargs)
        await host.drain()
        return response

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def head(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("HEAD", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", url, **kwargs)

    async def scheduled(self, cron: str, *, scheduled_time: float | None = None) -> None:
        """Run the worker's ``scheduled(event, env, ctx)`` for ``cron`` (errors raise)."""
        host = self._running_host()
        when = self.clock() if scheduled_time is None else scheduled_time
        await host.run_scheduled(ScheduledEvent(cron=cron, scheduled_time=when))
        await host.drain()

    # --- queues ----------------------------------------------------------------------

    @property
    def queues(self) -> dict[str, TestQueue]:
        """Every queue the config names (producers, consumers, dead letter queues)."""
        self._running_host()
        if self.config is None or self._queue_store is None:
            return {}
        names: set[str] = {p.queue for p in self.config.queues.producers}
        for consumer in self.config.queues.consumers:
            names.add(consumer.queue)
            if consumer.dead_letter_queue is not None:
                names.add(consumer.dead_letter_queue)
        return {n: TestQueue(self._queue_store, n, self.clock) for n in sorted(names)}

    async def deliver_queues(self) -> list[BatchResult]:
        """Deliver every message ready now to the worker's ``queue()``, in batches as
        configured (whatever ``max_batch_timeout``), consumer by consumer; returns
        each batch's outcome. ``wait_until`` work has finished when this returns."""
        host = self._running_host()
        results: list[BatchResult] = []
        for consumer in self._consumers:
            results += await consumer.deliver_ready()
        await host.drain()
        return results
