"""The account endpoints wrangler and the SDK call before (or instead of) KV calls:
``/accounts`` and ``/memberships`` (wrangler picks the account when
``CLOUDFLARE_ACCOUNT_ID`` is unset), ``/user`` and ``/user/tokens/verify``
(``wrangler whoami``). There is one account, named after the project."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from runtime.admin import limits as L
from runtime.admin._envelope import ok, paged
from runtime.admin._request import AdminRequest
from runtime.admin._state import AdminState


def _account(state: AdminState) -> dict[str, Any]:
    return {
        "id": L.ACCOUNT_ID,
        "name": state.project,
        "type": "standard",
        "settings": {"enforce_twofactor": False},
    }


async def accounts(state: AdminState, req: AdminRequest) -> Response:
    return paged([_account(state)], *req.paging())


async def account(state: AdminState, req: AdminRequest, account_id: str) -> Response:
    return ok(_account(state))


async def memberships(state: AdminState, req: AdminRequest) -> Response:
    membership = {
        "id": f"{L.ACCOUNT_ID}-membership",
        "status": "accepted",
        "account": {"id": L.ACCOUNT_ID, "name": state.project},
        "roles": ["Administrator"],
    }
    return paged([membership], *req.paging())


async def user(state: AdminState, req: AdminRequest) -> Response:
    return ok({"id": L.USER_ID, "email": L.USER_EMAIL, "has_pro_zones": False})


async def verify_token(state: AdminState, req: AdminRequest) -> Response:
    return ok({"id": L.TOKEN_ID, "status": "active"})
