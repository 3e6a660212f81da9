"""Fixtures for the static-site tests: a memory store, a site namespace, a fake clock,
a bucket builder and a raw ASGI caller that sends the exact bytes of a path."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from kv import KVNamespace, open_store
from kv.backends import Store
from runtime.testing import FakeClock
from sites import AssetHandler

SITE_NS = "__test-workers_sites_assets"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_000_000)


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    s = open_store("memory://")
    yield s
    await s.aclose()


@pytest.fixture
def ns(store: Store) -> KVNamespace:
    return KVNamespace(store, SITE_NS)


def write_files(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create ``files`` (relative path -> content) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return root


@pytest.fixture
def bucket(tmp_path: Path) -> Callable[..., Path]:
    def make(files: Mapping[str, str | bytes], name: str = "public") -> Path:
        return write_files(tmp_path / name, files)

    return make


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    header_list: list[tuple[str, str]]


async def call(
    handler: AssetHandler,
    path: str | bytes,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    query: bytes = b"",
) -> Reply:
    """Send one request with exactly ``path`` as the raw path (no client normalisation)."""
    raw = path.encode("utf-8") if isinstance(path, str) else path
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw.decode("latin-1"),
        "raw_path": raw,
        "query_string": query,
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    messages: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        messages.append(message)

    response = await handler(Request(scope, receive))
    await response(scope, receive, send)
    start = messages[0]
    raw_headers = [(k.decode(), v.decode("utf-8")) for k, v in start["headers"]]  # type: ignore[attr-defined]
    body = b"".join(m.get("body", b"") for m in messages[1:])  # type: ignore[misc]
    return Reply(int(start["status"]), dict(raw_headers), body, raw_headers)  # type: ignore[call-overload]


class SpyStore:
    """Wraps a store: counts writes and can run a hook before each write (to interleave)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.url = inner.url
        self.puts: list[str] = []
        self.batches: list[list[str]] = []
        self.before_write: Callable[[], Awaitable[None]] | None = None
        self.fail_batches = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def put(
        self, namespace: str, key: str, value: Any, expiration: Any, metadata: Any
    ) -> None:
        self.puts.append(key)
        if self.before_write is not None:
            await self.before_write()
        await self.inner.put(namespace, key, value, expiration, metadata)

    async def write_batch(self, namespace: str, ops: Sequence[Any]) -> None:
        if self.before_write is not None:
            await self.before_write()
        if self.fail_batches:
            from kv import StoreUnavailable

            raise StoreUnavailable("injected failure")
        self.batches.append([op.key for op in ops])
        await self.inner.write_batch(namespace, ops)

    @property
    def writes(self) -> int:
        return len(self.puts) + sum(len(b) for b in self.batches)


@pytest.fixture
def spy(store: Store) -> SpyStore:
    return SpyStore(store)


@pytest.fixture
def spy_ns(spy: SpyStore) -> KVNamespace:
    return KVNamespace(spy, SITE_NS)  # type: ignore[arg-type]


async def all_keys(ns: KVNamespace) -> list[str]:
    keys: list[str] = []
    cursor = None
    while True:
        page = await ns.list(cursor=cursor)
        keys += [k.name for k in page.keys]
        if page.list_complete:
            return keys
        cursor = page.cursor
