"""Cloudflare's response envelope: ``{"success", "errors", "messages", "result"}``
(plus ``result_info`` on lists) for every answer but a value read."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from runtime.admin.errors import AdminError

# Admin answers describe live data: no cache may keep them.
_HEADERS = {"cache-control": "no-store"}


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(
        text,
        status_code=status,
        media_type="application/json",
        headers={**_HEADERS, **(headers or {})},
    )


def ok(
    result: Any, result_info: dict[str, Any] | None = None, *, messages: Sequence[str] = ()
) -> Response:
    """A success envelope around ``result``; ``messages`` become its notices."""
    notes = [{"code": 0, "message": m} for m in messages]
    body: dict[str, Any] = {"success": True, "errors": [], "messages": notes, "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return _json(body, 200)


def paged(items: list[Any], page: int, per_page: int) -> Response:
    """Page ``page`` (from 1) of ``items``; a page past the last is empty, so clients
    that ask for the next page until one is empty (wrangler, the SDKs) stop."""
    chunk = items[(page - 1) * per_page : page * per_page]
    info = {
        "page": page,
        "per_page": per_page,
        "count": len(chunk),
        "total_count": len(items),
        "total_pages": -(-len(items) // per_page),
    }
    return ok(chunk, info)


def failure(error: AdminError, headers: dict[str, str] | None = None) -> Response:
    """The failure envelope of ``error`` (its status, code and message)."""
    body = {
        "success": False,
        "errors": [{"code": error.code, "message": error.message}],
        "messages": [],
        "result": None,
    }
    return _json(body, error.status, headers)


def raw(data: bytes, headers: dict[str, str] | None = None) -> Response:
    """A value read: the bytes themselves, no envelope."""
    return Response(
        data, media_type="application/octet-stream", headers={**_HEADERS, **(headers or {})}
    )
