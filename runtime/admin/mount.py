"""Where the admin API is served, and to whom (the policy of docs/admin-api.md):

- ``edgeworks dev`` on a loopback host: on, no token; foreign ``Host`` headers and
  cross-origin writes are refused (``Guard(local_only=True)``);
- ``edgeworks dev`` on any other host: on only with a token;
- ``edgeworks serve``: on only with a token (``--admin-token`` or
  ``EDGEWORKS_ADMIN_TOKEN``); without one there is no admin path at all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from runtime.admin import limits as L
from runtime.admin._state import AdminState
from runtime.admin.app import AdminApp
from runtime.admin.guard import Guard

if TYPE_CHECKING:
    from kv import EdgeCache
    from kv.backends import Store
    from queues import QueueStore
    from runtime.config import Config

__all__ = ["admin_banner", "build_admin", "is_loopback", "refresh"]


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def build_admin(
    store: Store,
    config: Config,
    *,
    mode: Literal["dev", "serve"],
    host: str,
    token: str | None,
    cache: EdgeCache | None = None,
    queue_store: QueueStore | None = None,
    after_send: Callable[[str], None] | None = None,
) -> AdminApp | None:
    """The admin app for a server bound to ``host``, or ``None`` where the policy
    serves no admin path (serve without a token; dev off loopback without one)."""
    local = mode == "dev" and is_loopback(host)
    if token is None and not local:
        return None
    state = AdminState(
        store,
        bindings=config.kv_bindings,
        project=config.name,
        cache=cache,
        queue_store=queue_store,
        config=config,
        after_send=after_send,
    )
    return AdminApp(state, Guard(token=token, local_only=local, bound_host=host))


def refresh(admin: AdminApp, config: Config) -> None:
    """After a config reload: namespace titles and queues follow the new config."""
    admin.state = replace(
        admin.state, bindings=config.kv_bindings, project=config.name, config=config
    )


def admin_banner(url: str, admin: AdminApp | None, *, why_off: str | None = None) -> list[str]:
    """Banner lines: the page, and the base URL to give wrangler and the SDK."""
    if admin is None:
        return [f"  admin     off{f' ({why_off})' if why_off else ''}"]
    api = url.rstrip("/") + L.CLIENT_V4_PREFIX
    token = "  (token required)" if admin.guard.token is not None else ""
    return [
        f"  admin     {url.rstrip('/')}{L.PAGE_PATH}{token}",
        f"            CLOUDFLARE_API_BASE_URL={api}  (wrangler; Cloudflare(base_url=...) for the SDK)",
    ]
