"""Bindings of Cloudflare-style projects: assets, KV in Cloudflare's Python shapes, and
the bindings edgeworks does not provide.

- ``AssetRouter``: the site handler over ``__STATIC_CONTENT`` and wrangler's
  ``run_worker_first`` rule (assets answer first; a miss goes to the worker).
- ``KvNamespace``: a ``KVNamespace`` as ``env.KV`` looks from Python on Cloudflare
  (``get`` → ``str | None``, ``"arrayBuffer"`` → ``memoryview``, no ``len()`` or
  iteration, with workerd's class name in the message).
- ``UnsupportedBinding``: a D1, R2, Durable Object, AI, ... binding; touching it
  raises ``BindingNotSupported`` naming the binding and its kind.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runtime.errors import WorkerError
from runtime.limits import MSG_BINDING_NOT_SUPPORTED

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from kv import KVNamespace

__all__ = [
    "AssetRouter",
    "AssetsBinding",
    "BindingNotSupported",
    "KvNamespace",
    "UnsupportedBinding",
]


class BindingNotSupported(WorkerError):
    """A worker used a binding kind edgeworks does not provide (one line, no traceback)."""

    status = 500
    one_line = True


class UnsupportedBinding:
    """Stands in ``env`` for a binding edgeworks does not provide."""

    __slots__ = ("_kind", "_name")

    def __init__(self, name: str, kind: str) -> None:
        self._name = name
        self._kind = kind

    def _fail(self) -> BindingNotSupported:
        return BindingNotSupported(
            MSG_BINDING_NOT_SUPPORTED.format(name=self._name, kind=self._kind)
        )

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise self._fail()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._fail()

    def __repr__(self) -> str:
        return f"<unsupported {self._kind} binding {self._name!r}>"


class KvNamespace:
    """``env.KV`` with the shapes of Cloudflare's Python SDK over a ``KVNamespace``."""

    __slots__ = ("_ns",)

    def __init__(self, namespace: KVNamespace) -> None:
        self._ns = namespace

    async def get(self, key: Any, type: Any = "text", **options: Any) -> Any:
        kind = type.get("type", "text") if isinstance(type, dict) else type
        value = await self._ns.get(key, type, **_snake(options))
        if kind == "arrayBuffer" and isinstance(value, bytes):
            return memoryview(value)
        return value

    async def put(self, key: str, value: Any, options: Any = None, **kwargs: Any) -> None:
        await self._ns.put(key, value, options, **_snake(kwargs))

    async def get_with_metadata(self, key: Any, type: Any = "text", **options: Any) -> Any:
        return await self._ns.get_with_metadata(key, type, **_snake(options))

    getWithMetadata = get_with_metadata

    async def delete(self, key: str) -> None:
        await self._ns.delete(key)

    async def list(self, options: Any = None, **kwargs: Any) -> Any:
        return await self._ns.list(options, **kwargs)

    def __iter__(self) -> Any:
        raise TypeError("'KvNamespace' object is not iterable")

    def __len__(self) -> int:
        raise TypeError("object of type 'KvNamespace' has no len()")

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<KvNamespace {self._ns.id!r}>"


def _snake(options: dict[str, Any]) -> dict[str, Any]:
    """camelCase keywords as ``KVNamespace`` names them (it takes both for most)."""
    names = {"cacheTtl": "cache_ttl", "expirationTtl": "expiration_ttl"}
    return {names.get(k, k): v for k, v in options.items()}


class AssetRouter:
    """Serves the deployed assets; ``worker_first(path)`` is wrangler's ``run_worker_first``."""

    def __init__(self, namespace: KVNamespace, run_worker_first: bool | Sequence[str]) -> None:
        self.namespace = namespace
        self.run_worker_first = run_worker_first
        self._handler: Any = None

    def worker_first(self, path: str) -> bool:
        rule = self.run_worker_first
        if isinstance(rule, bool):
            return rule
        positive = [p for p in rule if not p.startswith("!")]
        negative = [p[1:] for p in rule if p.startswith("!")]
        return any(fnmatch.fnmatchcase(path, p) for p in positive) and not any(
            fnmatch.fnmatchcase(path, p) for p in negative
        )

    async def serve(self, request: Request) -> Response:
        """The site handler's answer (a 404 when no asset matches)."""
        if self._handler is None:
            from sites import AssetHandler

            self._handler = AssetHandler(self.namespace)
        response: Response = await self._handler(request)
        return response


class AssetsBinding:
    """``env.ASSETS`` (wrangler ``assets.binding``): ``await env.ASSETS.fetch(request)``
    serves the deployed assets, whatever ``run_worker_first`` says."""

    __slots__ = ("router",)

    def __init__(self, router: AssetRouter) -> None:
        self.router = router

    async def fetch(self, request: Any, **_: Any) -> Response:
        """``request``: a starlette or ``workers`` request, or a URL."""
        return await self.router.serve(_starlette_request(request))

    def __repr__(self) -> str:
        return "<assets fetcher>"


def _starlette_request(request: Any) -> Request:
    from starlette.requests import Request as StarletteRequest

    if isinstance(request, StarletteRequest):
        return request
    inner = getattr(request, "starlette_request", None)
    if isinstance(inner, StarletteRequest) and str(getattr(request, "url", "")) == str(inner.url):
        return inner
    from urllib.parse import urlsplit

    url = urlsplit(str(getattr(request, "url", request)))
    method = str(getattr(request, "method", "GET"))
    scope = {
        "type": "http",
        "method": method,
        "path": url.path or "/",
        "raw_path": (url.path or "/").encode(),
        "query_string": url.query.encode(),
        "headers": [(b"host", url.netloc.encode())],
        "scheme": url.scheme or "http",
        "server": (url.hostname or "localhost", url.port or 80),
    }
    return StarletteRequest(scope)
