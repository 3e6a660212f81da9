"""Helpers of the admin API tests: an in-process client over the ASGI app, and the
app served by uvicorn on a free port (for the SDK and the browser)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from kv import open_store
from kv.backends import Store
from runtime.admin import AdminApp, AdminState, Guard
from tests.support import free_port, wait_until

BASE = "http://127.0.0.1:8787"
V4 = "/__edgeworks/api/client/v4"
NS = V4 + "/accounts/any-account/storage/kv/namespaces"
SHORT = "/__edgeworks/api/storage/kv/namespaces"


class FakeClock:
    """Epoch seconds that only move when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def asgi_client(app: Any, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url=BASE, headers=headers or None
    )


class _Lifespan:
    """The admin app with a lifespan that closes the store in the serving loop."""

    def __init__(self, app: AdminApp, store: Store) -> None:
        self.app, self.store = app, store

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await self.store.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


@dataclass
class Served:
    url: str  # http://127.0.0.1:PORT
    store_url: str
    app: AdminApp


@contextmanager
def serve_admin(store_url: str, guard: Guard | None = None, **state: Any) -> Iterator[Served]:
    """The admin app over ``store_url`` served by uvicorn in a thread, on a free port."""
    store = open_store(store_url)
    app = AdminApp(AdminState(store, **state), guard)
    port = free_port()
    config = uvicorn.Config(
        _Lifespan(app, store), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: server.started, timeout=10), "uvicorn did not start"
        yield Served(f"http://127.0.0.1:{port}", store_url, app)
    finally:
        server.should_exit = True
        thread.join(10)
