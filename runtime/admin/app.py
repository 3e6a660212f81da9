"""The admin ASGI app: the guard, the routes of the REST API, the page.

Paths (all below ``/__edgeworks/``):

- ``api/client/v4/accounts/{any id}/storage/kv/namespaces/...``: Cloudflare's KV
  REST API (the base URL for wrangler and the SDK is ``.../api/client/v4``);
  ``api/client/v4/accounts``, ``/memberships``, ``/user``, ``/user/tokens/verify``;
- ``api/storage/kv/namespaces/...``: the same handlers without the account;
- ``api/queues/...``: the queues (list with counts, send, purge, retry dead);
- the page (``/__edgeworks/``) and its two assets.

The path is split on its raw bytes and each segment decoded once, so a key with
``/`` (sent as ``%2F``) stays one segment; an unencoded ``/`` in a value path
(old SDKs) is kept as part of the key.

>>> app = AdminApp(AdminState(store), Guard(token="s3cret"))
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from importlib import resources

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from runtime.admin import _account, _bulk, _namespaces, _queues, _values
from runtime.admin import limits as L
from runtime.admin._envelope import failure
from runtime.admin._request import AdminRequest, decode_segment
from runtime.admin._state import AdminState
from runtime.admin.errors import AdminError
from runtime.admin.guard import Guard

__all__ = ["AdminApp"]

logger = logging.getLogger("edgeworks.admin")

Handler = Callable[..., Awaitable[Response]]
# A route: literal segments, "{}" (one decoded segment, passed on) or "*" (the rest
# of the path, decoded once as one key); then the handler of each method.
Route = tuple[tuple[str, ...], dict[str, Handler]]

_KV_ROUTES: list[Route] = [
    ((), {"GET": _namespaces.list_namespaces, "POST": _namespaces.create_namespace}),
    (
        ("{}",),
        {
            "GET": _namespaces.get_namespace,
            "PUT": _namespaces.rename_namespace,
            "DELETE": _namespaces.delete_namespace,
        },
    ),
    (("{}", "count"), {"GET": _namespaces.count_keys}),
    (("{}", "keys"), {"GET": _values.list_keys}),
    (
        ("{}", "values", "*"),
        {"GET": _values.get_value, "PUT": _values.put_value, "DELETE": _values.delete_value},
    ),
    (("{}", "metadata", "*"), {"GET": _values.get_metadata}),
    (("{}", "bulk"), {"PUT": _bulk.bulk_write, "DELETE": _bulk.bulk_delete}),
    (("{}", "bulk", "delete"), {"POST": _bulk.bulk_delete}),
    (("{}", "bulk", "get"), {"POST": _bulk.bulk_get}),
]

_ACCOUNT_ROUTES: list[Route] = [
    (("accounts",), {"GET": _account.accounts}),
    (("accounts", "{}"), {"GET": _account.account}),
    (("memberships",), {"GET": _account.memberships}),
    (("user",), {"GET": _account.user}),
    (("user", "tokens", "verify"), {"GET": _account.verify_token}),
]

_QUEUE_ROUTES: list[Route] = [
    (("queues",), {"GET": _queues.list_queues}),
    (("queues", "{}", "messages"), {"POST": _queues.send_message}),
    (("queues", "{}", "purge"), {"POST": _queues.purge}),
    (("queues", "{}", "retry-dead"), {"POST": _queues.retry_dead}),
]

_KV_PATH = ("storage", "kv", "namespaces")


def _match(shape: tuple[str, ...], segments: list[str]) -> list[str] | None:
    """The decoded parameters of ``segments`` for ``shape``, or ``None``."""
    params: list[str] = []
    for index, part in enumerate(shape):
        if part == "*":
            if index >= len(segments):
                return None
            params.append(decode_segment("/".join(segments[index:])))
            return params
        if index >= len(segments):
            return None
        if part == "{}":
            params.append(decode_segment(segments[index]))
        elif segments[index] != part:
            return None
    return params if len(segments) == len(shape) else None


def _segments(scope: Scope) -> list[str]:
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    return path.strip("/").split("/") if path.strip("/") else []


class AdminApp:
    """The admin API and page over ``state``, behind ``guard``; see the module docstring."""

    def __init__(self, state: AdminState, guard: Guard | None = None) -> None:
        self.state = state
        self.guard = guard if guard is not None else Guard()

    @staticmethod
    def handles(path: str) -> bool:
        """Whether ``path`` is the page, one of its assets or an API path."""
        return (
            path == L.PAGE_PATH
            or path.startswith(L.ASSETS_PREFIX)
            or path == L.API_PREFIX
            or path.startswith(L.API_PREFIX + "/")
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        is_api = path.startswith(L.API_PREFIX)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.guard.check(scope["method"], headers)
        if refusal is not None:
            extra = {}
            if refusal.status == 401 and not is_api:
                extra["www-authenticate"] = f'Basic realm="{L.AUTH_REALM}", charset="UTF-8"'
            await failure(refusal, extra)(scope, receive, send)
            return
        try:
            response = await (self._api(scope, receive, headers) if is_api else self._page(path))
        except AdminError as err:
            response = failure(err)
        except Exception as exc:  # a bug, not bad input: logged, answered in the envelope
            logger.error("%s %s failed", scope["method"], path, exc_info=exc)
            response = failure(AdminError("internal error", status=500, code=L.CODE_INTERNAL))
        await response(scope, receive, send)

    async def _api(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> Response:
        segments = _segments(scope)[2:]  # below __edgeworks/api
        method: str = scope["method"]
        routes, params = self._routes(segments)
        for shape, handlers in routes:
            found = _match(shape, params)
            if found is None:
                continue
            handler = handlers.get(method)
            if handler is None:
                allowed = ", ".join(sorted(handlers))
                raise AdminError(
                    L.MSG_METHOD.format(method=method, path=scope["path"], allowed=allowed),
                    status=405,
                    code=L.CODE_NO_ROUTE,
                )
            request = AdminRequest(scope, receive, headers)
            return await handler(self.state, request, *found)
        raise AdminError(
            L.MSG_NO_ROUTE.format(method=method, path=scope["path"]),
            status=404,
            code=L.CODE_NO_ROUTE,
        )

    @staticmethod
    def _routes(segments: list[str]) -> tuple[list[Route], list[str]]:
        """The route table for ``segments`` and the segments it matches against."""
        if tuple(segments[:3]) == _KV_PATH:
            return _KV_ROUTES, segments[3:]
        if segments[:1] == ["queues"]:
            return _QUEUE_ROUTES, segments
        if segments[:2] == ["client", "v4"]:
            rest = segments[2:]
            if len(rest) >= 5 and rest[0] == "accounts" and tuple(rest[2:5]) == _KV_PATH:
                return _KV_ROUTES, rest[5:]
            return _ACCOUNT_ROUTES, rest
        return [], segments

    async def _page(self, path: str) -> Response:
        name = "index.html" if path == L.PAGE_PATH else path[len(L.ASSETS_PREFIX) :]
        content_type = L.PAGE_ASSETS.get(name)
        if content_type is None:  # only the listed files, never a path of the caller's
            raise AdminError(
                L.MSG_NO_ROUTE.format(method="GET", path=path), status=404, code=L.CODE_NO_ROUTE
            )
        data = resources.files("runtime.admin").joinpath("static", name).read_bytes()
        return Response(data, media_type=content_type, headers={"cache-control": "no-store"})
