"""Cloudflare-style entry points: ``class Default(WorkerEntrypoint)``, module-level
``on_fetch``/``on_scheduled``/``on_queue`` (with or without ``@handler``), behind the
``handle_request``/``scheduled``/``queue`` contract the app and the host call.

- A new ``Default(ctx, env)`` per event; its methods (and ``on_*`` functions)
  are called leniently: with as many of ``(event, env, ctx)`` as they take, so
  ``fetch(self)`` is valid; ``scheduled``/``queue`` get the real env and ctx.
- The request is a ``workers.Request``; a returned ``workers.Response`` (or
  anything with ``__edgeworks_response__``) becomes a starlette response.
- ``env`` is seen in Cloudflare's Python shapes (``cloudflare_view``): KV as
  ``KvNamespace``, ``ASSETS`` answering ``workers.Response``, vars as written.
- With wrangler ``assets``, a GET/HEAD is served from the assets first unless
  ``run_worker_first`` matches; a miss (404) goes to the worker.
- ``scheduled`` receives a ``ScheduledController``: ``scheduled_time`` in ms
  since the epoch, ``cron``, ``no_retry()`` and the camelCase names.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime._bindings import AssetsBinding, KvNamespace
from runtime.env import Env, asset_router, serving_env
from runtime.errors import WorkerError, WorkerLoadError
from runtime.limits import MSG_MIXED_ENTRYPOINTS, MSG_NO_FETCH_HANDLER

if TYPE_CHECKING:
    from starlette.requests import Request

    from queues import MessageBatch
    from runtime.host import ScheduledEvent

__all__ = ["CloudflareEntry", "ScheduledController", "cloudflare_entry", "cloudflare_view"]

ASSET_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class ScheduledController:
    """The ``controller`` of ``scheduled(controller, env, ctx)`` (Cloudflare's shape)."""

    cron: str
    scheduled_time: int  # ms since the epoch
    type: str = "scheduled"

    @property
    def scheduledTime(self) -> int:  # the JS name
        return self.scheduled_time

    def no_retry(self) -> None:
        """Accepted for compatibility: edgeworks does not retry failed cron runs."""

    noRetry = no_retry


def cloudflare_view(env: Env) -> Env:
    """``env`` as a Cloudflare Python worker sees it: KV bindings in Cloudflare's shapes
    (``KvNamespace``), ``ASSETS.fetch`` answering ``workers.Response``, the rest as is."""
    from kv import KVNamespace

    bindings = env.as_dict()
    for name, value in bindings.items():
        if isinstance(value, KVNamespace):
            bindings[name] = KvNamespace(value)
        elif isinstance(value, AssetsBinding):
            bindings[name] = _ResponseFetcher(value)
    return Env(bindings, assets=asset_router(env))


class _ResponseFetcher:
    """``env.ASSETS``: ``fetch`` answers a ``workers.Response``."""

    __slots__ = ("_binding",)

    def __init__(self, binding: AssetsBinding) -> None:
        self._binding = binding

    async def fetch(self, request: Any, **options: Any) -> Any:
        from workers._response import Response

        answer = await self._binding.fetch(request, **options)
        body = getattr(answer, "body", b"")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.raw_headers]
        return Response(bytes(body), answer.status_code, headers=headers)


class CloudflareEntry:
    """``handle_request``/``scheduled`` for a module in one of Cloudflare's styles."""

    def __init__(
        self,
        file: Path,
        *,
        entry_class: type | None,
        on_fetch: Callable[..., Any] | None,
        on_scheduled: Callable[..., Any] | None,
        on_queue: Callable[..., Any] | None = None,
    ) -> None:
        self.file = file
        self.entry_class = entry_class
        self.on_fetch = on_fetch
        self.on_scheduled = on_scheduled
        self.on_queue = on_queue
        self._views: tuple[Env, Env] | None = None
        self.fetch_arity = _arity(self._function("fetch", on_fetch))
        self.scheduled_arity = _arity(self._function("scheduled", on_scheduled))
        self.queue_arity = _arity(self._function("queue", on_queue))

    def _function(self, method: str, module_level: Callable[..., Any] | None) -> Any:
        if self.entry_class is not None:
            found = getattr(self.entry_class, method, None)
            # Bound (to a stand-in instance) so its signature counts no ``self``.
            return types.MethodType(found, object()) if found is not None else None
        return module_level

    @property
    def has_scheduled(self) -> bool:
        return self._function("scheduled", self.on_scheduled) is not None

    @property
    def has_queue(self) -> bool:
        return self._function("queue", self.on_queue) is not None

    def view(self, env: Env) -> Env:
        """The Cloudflare view of ``env``, made once per env (a reload or config change
        brings a new one)."""
        views = self._views
        if views is None or views[0] is not env:
            views = self._views = (env, cloudflare_view(env))
            serving_env(views[1])
        return views[1]

    def _target(self, method: str, module_level: Any, env: Any, ctx: Any) -> Any:
        if self.entry_class is not None:
            return getattr(self.entry_class(ctx, env), method, None)
        return module_level

    async def handle_request(self, request: Request, env: Env, ctx: Any) -> Any:
        router = asset_router(env)
        if (
            router is not None
            and request.method in ASSET_METHODS
            and not router.worker_first(request.url.path)
        ):
            answer = await router.serve(request)
            if answer.status_code != 404:
                return answer
        view = self.view(env)
        target = self._target("fetch", self.on_fetch, view, ctx)
        if target is None:
            raise WorkerError(MSG_NO_FETCH_HANDLER.format(file=self.file))
        from workers._request import Request as WorkersRequest

        wrapped = WorkersRequest.from_starlette(request)
        result = target(*(wrapped, view, ctx)[: self.fetch_arity])
        if inspect.isawaitable(result):
            result = await result
        convert = getattr(result, "__edgeworks_response__", None)
        return convert() if convert is not None else result

    async def scheduled(self, event: ScheduledEvent, env: Env, ctx: Any) -> None:
        view = self.view(env)
        target = self._target("scheduled", self.on_scheduled, view, ctx)
        controller = ScheduledController(event.cron, event.scheduled_time_ms)
        result = target(*(controller, view, ctx)[: self.scheduled_arity])
        if inspect.isawaitable(result):
            await result

    async def queue(self, batch: MessageBatch, env: Env, ctx: Any) -> None:
        """``Default.queue``/``on_queue`` with the batch (``batch.messages``,
        ``message.body``, ``ack()``, ``retry()``), the real env and ctx."""
        view = self.view(env)
        target = self._target("queue", self.on_queue, view, ctx)
        result = target(*(batch, view, ctx)[: self.queue_arity])
        if inspect.isawaitable(result):
            await result


def cloudflare_entry(module: types.ModuleType, file: Path) -> CloudflareEntry | None:
    """The module's Cloudflare-style entry points, ``None`` when it has none.

    Mixing styles for one event (``Default.fetch`` and ``on_fetch``, or either
    and ``handle_request``) is a ``WorkerLoadError``.
    """
    entry_class = _default_class(module)
    on_fetch = getattr(module, "on_fetch", None)
    on_scheduled = getattr(module, "on_scheduled", None)
    on_queue = getattr(module, "on_queue", None)
    if entry_class is None and on_fetch is None and on_scheduled is None and on_queue is None:
        return None
    events = (
        ("fetch", on_fetch, "handle_request"),
        ("scheduled", on_scheduled, "scheduled"),
        ("queue", on_queue, "queue"),
    )
    for event, module_level, native in events:
        styles = []
        if entry_class is not None and getattr(entry_class, event, None) is not None:
            styles.append(f"Default.{event}")
        if module_level is not None:
            styles.append(f"on_{event}")
        own = getattr(module, native, None)
        if own is not None and not inspect.ismodule(own):  # `import queue` is no handler
            styles.append(native)
        if len(styles) > 1:
            raise WorkerLoadError(
                MSG_MIXED_ENTRYPOINTS.format(
                    file=file, first=styles[0], second=styles[1], event=event, native=native
                ),
                filename=str(file),
            )
    return CloudflareEntry(
        file,
        entry_class=entry_class,
        on_fetch=on_fetch,
        on_scheduled=on_scheduled,
        on_queue=on_queue,
    )


def _default_class(module: types.ModuleType) -> type | None:
    default = getattr(module, "Default", None)
    sdk = sys.modules.get("workers._entrypoints")
    if sdk is None or not isinstance(default, type):
        return None
    return default if issubclass(default, sdk.WorkerEntrypoint) else None


def _arity(func: Any) -> int:
    """How many positional arguments ``func`` takes (at most 3; ``*args``: 3)."""
    if func is None:
        return 0
    params = inspect.signature(func).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return 3
    positional = [
        p
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    return min(len(positional), 3)
