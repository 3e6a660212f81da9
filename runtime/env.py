"""``env``: exactly the configured bindings (KV namespaces, queue producers, vars, secrets).

``Env`` has no public methods of its own, so a binding can be called anything
that is a Python identifier; an unknown attribute raises ``AttributeError``
naming the configured bindings. ``build_env`` turns configuration data into an
``Env`` over one store and (in ``serve``) one location's ``EdgeCache``; queue
producers (``queues.Queue``) write to the queue store opened at the same URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from runtime.limits import MSG_NO_BINDINGS, MSG_UNKNOWN_BINDING

if TYPE_CHECKING:
    from kv import EdgeCache
    from kv.backends.base import Store
    from queues import QueueStore
    from runtime.config import Config
    from runtime.wrangler import CloudflareConfig

__all__ = ["Env", "asset_router", "build_env", "cloudflare_env", "env_from_config", "serving_env"]


class Env:
    """The ``env`` a handler receives.

    >>> env = Env({"GREETING": "hi"})
    >>> env.GREETING
    'hi'
    >>> env.MISSING
    Traceback (most recent call last):
    AttributeError: env has no binding 'MISSING'; configured bindings: GREETING
    """

    # The bindings are also the instance's __dict__, so ``env.NAME`` is a plain attribute
    # read; __getattr__ (after a failed lookup, which costs ~0.5 us) only builds the error.
    __slots__ = ("__dict__", "_assets", "_bindings")

    def __init__(self, bindings: Mapping[str, Any] | None = None, *, assets: Any = None) -> None:
        object.__setattr__(self, "_bindings", dict(bindings or {}))
        # wrangler [assets]: served before the worker (runtime._bindings.AssetRouter)
        object.__setattr__(self, "_assets", assets)
        # A binding named like one of Env's own attributes (``as_dict``) stays out: the
        # runtime calls those; such a binding is reached with ``env["as_dict"]``.
        object.__getattribute__(self, "__dict__").update(
            (name, value) for name, value in self._bindings.items() if not hasattr(Env, name)
        )

    def __getattr__(self, name: str) -> Any:
        bindings: dict[str, Any] = object.__getattribute__(self, "_bindings")
        try:
            return bindings[name]
        except KeyError:
            pass
        if not bindings:
            raise AttributeError(MSG_NO_BINDINGS.format(name=name))
        raise AttributeError(
            MSG_UNKNOWN_BINDING.format(name=name, bindings=", ".join(sorted(bindings)))
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("env is read-only; bindings come from edgeworks.toml")

    def __getitem__(self, name: str) -> Any:
        try:
            return self.__getattr__(name)
        except AttributeError as exc:
            raise KeyError(str(exc)) from None

    def __contains__(self, name: object) -> bool:
        return name in object.__getattribute__(self, "_bindings")

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(object.__getattribute__(self, "_bindings")))

    def __len__(self) -> int:
        return len(object.__getattribute__(self, "_bindings"))

    def __dir__(self) -> list[str]:
        return sorted(object.__getattribute__(self, "_bindings"))

    def __repr__(self) -> str:
        return f"Env({', '.join(sorted(object.__getattribute__(self, '_bindings')))})"

    def as_dict(self) -> dict[str, Any]:
        """A copy of the bindings (name -> value), for service-worker globals and tools."""
        return dict(object.__getattribute__(self, "_bindings"))


_serving: list[Env] = []  # the env the Cloudflare-style worker served last sees


def serving_env(env: Env) -> None:
    """Record the env a Cloudflare-style worker is served with (``workers.env``)."""
    _serving[:] = [env]


class _ServingEnv:
    """``workers.env``: the env of the worker being served, looked up on each access
    (so ``from workers import env`` at module top level stays current)."""

    def __getattr__(self, name: str) -> Any:
        if not _serving:
            raise RuntimeError("workers.env is only available while a worker is served")
        return getattr(_serving[-1], name)


def cloudflare_env() -> Any:
    """What ``from workers import env`` gives."""
    return _ServingEnv()


def asset_router(env: Env) -> Any:
    """The ``AssetRouter`` of a wrangler project with ``assets`` (else ``None``)."""
    return object.__getattribute__(env, "_assets")


def build_env(
    *,
    store: Store | None = None,
    kv_namespaces: Mapping[str, str] | None = None,
    vars: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    cache: EdgeCache | None = None,
    clock: Callable[[], float] = time.time,
    cache_ttl: float | None = None,
    queue_store: QueueStore | None = None,
    queue_producers: Mapping[str, tuple[str, int]] | None = None,
    after_send: Callable[[str], None] | None = None,
) -> Env:
    """Build ``env`` from configuration data.

    ``kv_namespaces`` maps binding name -> namespace id (``config.kv_bindings``,
    which includes the site's ``__STATIC_CONTENT``); each is a ``KVNamespace``
    over ``store`` sharing ``cache`` (one cache per location; ``None`` in dev:
    strongly consistent reads). ``queue_producers`` maps binding name -> (queue,
    delivery_delay); each is a ``queues.Queue`` over ``queue_store`` that calls
    ``after_send(queue)`` after each send (to wake a local consumer).
    """
    bindings: dict[str, Any] = {}
    bindings.update(vars or {})
    bindings.update(secrets or {})
    namespaces = dict(kv_namespaces or {})
    if namespaces:
        if store is None:
            raise ValueError("build_env: KV namespaces need a store")
        from kv import KVNamespace

        options: dict[str, Any] = {"clock": clock, "cache": cache}
        if cache_ttl is not None:
            options["cache_ttl_default"] = cache_ttl
        for binding, namespace_id in namespaces.items():
            bindings[binding] = KVNamespace(store, namespace_id, **options)
    producers = dict(queue_producers or {})
    if producers:
        if queue_store is None:
            raise ValueError("build_env: queue producers need a queue store")
        from queues import Queue

        for binding, (queue, delay) in producers.items():
            bindings[binding] = Queue(
                queue_store, queue, delivery_delay=delay, clock=clock, after_send=after_send
            )
    return Env(bindings)


def env_from_config(
    config: Config,
    store: Store | None,
    *,
    cache: EdgeCache | None = None,
    clock: Callable[[], float] = time.time,
    queue_store: QueueStore | None = None,
    after_send: Callable[[str], None] | None = None,
) -> Env:
    """``env`` for a loaded config: its vars, secrets, KV bindings (incl. the site's)
    and queue producers (over ``queue_store``, required when producers are configured).

    >>> env = env_from_config(config.with_secrets(load_dev_vars(config)), store)
    """
    env = build_env(
        store=store,
        kv_namespaces=config.kv_bindings,
        vars=config.vars,
        secrets=config.secrets,
        cache=cache,
        clock=clock,
        cache_ttl=config.kv.cache_ttl,
        queue_store=queue_store,
        queue_producers={p.binding: (p.queue, p.delivery_delay) for p in config.queues.producers},
        after_send=after_send,
    )
    if config.cloudflare is None:
        return env
    return cloudflare_bindings(env, config.cloudflare)


def cloudflare_bindings(env: Env, cloudflare: CloudflareConfig) -> Env:
    """``env`` plus what a wrangler config adds: the assets router (and its
    ``assets.binding``) and a stand-in for each binding edgeworks does not provide."""
    from runtime._bindings import AssetRouter, AssetsBinding, UnsupportedBinding

    bindings = env.as_dict()
    router = None
    site = bindings.get("__STATIC_CONTENT")
    if site is not None:
        router = AssetRouter(site, cloudflare.run_worker_first)
        if cloudflare.assets_binding is not None:
            bindings[cloudflare.assets_binding] = AssetsBinding(router)
    for name, kind in cloudflare.unsupported.items():
        bindings[name] = UnsupportedBinding(name, kind)
    return Env(bindings, assets=router)
