"""What every handler shares: the open store, the clock, the config's bindings (for
namespace titles) and the location's edge cache, if any."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kv import EdgeCache, KVError, KVNamespace, StoreUnavailable
from kv.backends import Store
from runtime.admin import limits as L
from runtime.admin.errors import AdminError

if TYPE_CHECKING:
    from queues import QueueStore
    from runtime.config import Config


@dataclass(frozen=True)
class AdminState:
    """The store the API manages and how namespaces are named.

    ``bindings`` maps binding names to namespace ids (``[[kv_namespaces]]``): a bound
    namespace is listed even while empty, and its title is its binding name.
    ``cache``: the serving location's edge cache, so the API's writes are seen at
    once where it serves (reads always go to the store). ``queue_store`` and
    ``config`` serve the queue endpoints (``config`` names the configured queues and
    their dead letter queues); ``after_send`` wakes this process's consumers.
    """

    store: Store
    clock: Callable[[], float] = time.time
    bindings: Mapping[str, str] = field(default_factory=dict)
    project: str = L.ACCOUNT_NAME_DEFAULT
    cache: EdgeCache | None = None
    queue_store: QueueStore | None = None
    config: Config | None = None
    after_send: Callable[[str], None] | None = None

    def bound(self, namespace_id: str) -> list[str]:
        """The binding names of ``namespace_id``, sorted."""
        return sorted(name for name, ns in self.bindings.items() if ns == namespace_id)

    def title(self, namespace_id: str) -> str:
        """A namespace's title: its first binding name, else its id."""
        names = self.bound(namespace_id)
        return names[0] if names else namespace_id

    async def namespace_ids(self) -> list[str]:
        """Every namespace: those in the store and those the config binds, sorted."""
        with store_errors():
            ids = set(await self.store.list_namespaces())
        return sorted(ids | set(self.bindings.values()))

    async def require(self, namespace_id: str) -> None:
        """404 (code 10013) unless ``namespace_id`` exists."""
        if namespace_id not in await self.namespace_ids():
            raise AdminError(
                L.MSG_NAMESPACE_NOT_FOUND.format(id=namespace_id),
                status=404,
                code=L.CODE_NAMESPACE_NOT_FOUND,
            )

    def writer(self, namespace_id: str) -> KVNamespace:
        """The namespace for writes (they update this location's cache, if any)."""
        return KVNamespace(self.store, namespace_id, clock=self.clock, cache=self.cache)

    def reader(self, namespace_id: str) -> KVNamespace:
        """The namespace for reads: straight from the store, never a cached copy."""
        return KVNamespace(self.store, namespace_id, clock=self.clock)


class store_errors:  # lower case: it reads like a function, ``with store_errors():``
    """KV's errors as admin errors: a 503 ``KVError`` (store down) stays a 503, every
    other ``KVError`` or KV ``TypeError`` is bad input (code 10001, HTTP 400) with
    the Workers KV message."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, KVError):
            if exc.status >= 500:
                raise AdminError(
                    L.MSG_STORE.format(detail=exc.detail), status=exc.status, code=L.CODE_INTERNAL
                ) from exc
            raise AdminError(exc.detail) from exc
        # Workers KV reports some bad arguments (empty key, "..") as TypeError; only KV
        # calls run inside this block, so a TypeError here is one of those.
        if isinstance(exc, TypeError):
            raise AdminError(str(exc)) from exc

        if isinstance(exc, StoreUnavailable):
            raise AdminError(
                L.MSG_STORE.format(detail=exc), status=503, code=L.CODE_INTERNAL
            ) from exc
