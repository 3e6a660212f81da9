"""Fixtures of the admin API tests: the app over a memory store with a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from kv import open_store
from kv.backends import Store
from runtime.admin import AdminApp, AdminState
from tests.runtime.admin.admin_support import FakeClock, asgi_client


@dataclass
class Admin:
    client: httpx.AsyncClient
    store: Store
    clock: FakeClock
    app: AdminApp


@pytest.fixture
async def admin() -> AsyncIterator[Admin]:
    """The admin app (no guard) over an empty memory store; binding COUNTER -> counter."""
    store, clock = open_store("memory://"), FakeClock()
    app = AdminApp(AdminState(store, clock=clock, bindings={"COUNTER": "counter"}, project="demo"))
    async with asgi_client(app) as client:
        yield Admin(client, store, clock, app)
    await store.aclose()
