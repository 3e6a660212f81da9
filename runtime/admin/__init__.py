"""The admin API (Cloudflare's Workers KV REST shape) and the data browser page.

``edgeworks dev`` mounts it under ``/__edgeworks/`` (``serve`` only with an admin
token): wrangler and the ``cloudflare`` SDK manage the store by changing only
their base URL (``.../__edgeworks/api/client/v4``). See docs/admin-api.md.

>>> app = AdminApp(AdminState(store, bindings={"COUNTER": "counter"}), Guard(token="s3cret"))
"""

from __future__ import annotations

from runtime.admin._state import AdminState
from runtime.admin.app import AdminApp
from runtime.admin.errors import AdminError
from runtime.admin.guard import Guard

__all__ = ["AdminApp", "AdminError", "AdminState", "Guard"]
