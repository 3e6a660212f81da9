"""Key endpoints: the keys list (cursor paging), a value's read (raw bytes), write
(raw body or multipart) and delete, and a key's metadata. Every rule and message
is KV's own: the handlers call ``KVNamespace``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from kv import limits as KL
from runtime.admin import limits as L
from runtime.admin._envelope import ok, raw
from runtime.admin._request import AdminRequest, parse_json
from runtime.admin._state import AdminState, store_errors
from runtime.admin.errors import AdminError


def _not_found(message: str = L.MSG_KEY_NOT_FOUND) -> AdminError:
    return AdminError(message, status=404, code=L.CODE_KEY_NOT_FOUND)


async def list_keys(state: AdminState, req: AdminRequest, namespace_id: str) -> Response:
    """``GET .../keys?prefix=&limit=&cursor=``: ``result_info.cursor`` is ``""`` on the
    last page, so clients that follow the cursor stop."""
    await state.require(namespace_id)
    limit = req.number("limit")
    if limit is not None and not (
        limit.is_integer() and L.MIN_KEYS_LIMIT <= limit <= KL.MAX_LIST_LIMIT
    ):
        shown = req.query["limit"]
        raise AdminError(
            L.MSG_KEYS_LIMIT.format(
                value=shown, minimum=L.MIN_KEYS_LIMIT, maximum=KL.MAX_LIST_LIMIT
            )
        )
    cursor = req.query.get("cursor") or None
    with store_errors():
        page = await state.reader(namespace_id).list(
            prefix=req.query.get("prefix") or None,
            limit=None if limit is None else int(limit),
            cursor=cursor,
        )
    # Built here rather than with KeyItem.to_dict: a page holds 1,000 items and the
    # generic conversion is a third of the page's time.
    keys: list[dict[str, Any]] = []
    for item in page.keys:
        entry: dict[str, Any] = {"name": item.name}
        if item.expiration is not None:
            entry["expiration"] = item.expiration
        if item.metadata is not None:
            entry["metadata"] = item.metadata
        keys.append(entry)
    return ok(keys, {"count": len(keys), "cursor": page.cursor or ""})


async def get_value(state: AdminState, req: AdminRequest, namespace_id: str, key: str) -> Response:
    """``GET .../values/{key}``: the bytes, no envelope; an ``expiration`` header when
    the key expires; 404 code 10009 when missing."""
    await state.require(namespace_id)
    ns = state.reader(namespace_id)
    with store_errors():
        value = await ns.get(key, "bytes")
        if value is None:
            raise _not_found()
        expiration = await _expiration(state, namespace_id, key)
    headers = {} if expiration is None else {"expiration": str(expiration)}
    return raw(value, headers)


async def _expiration(state: AdminState, namespace_id: str, key: str) -> int | None:
    """The expiration of ``key``: a key is the first of the keys it prefixes (UTF-8
    order), so a one-key listing from it returns its own entry."""
    page = await state.reader(namespace_id).list(prefix=key, limit=1)
    if page.keys and page.keys[0].name == key:
        return page.keys[0].expiration
    return None


async def get_metadata(
    state: AdminState, req: AdminRequest, namespace_id: str, key: str
) -> Response:
    """``GET .../metadata/{key}``: the metadata JSON itself (``null`` when none)."""
    await state.require(namespace_id)
    with store_errors():
        found = await state.reader(namespace_id).get_with_metadata(key, "bytes")
    if found.value is None:
        raise _not_found(L.MSG_METADATA_NOT_FOUND)
    return ok(found.metadata)


async def put_value(state: AdminState, req: AdminRequest, namespace_id: str, key: str) -> Response:
    """``PUT .../values/{key}?expiration=&expiration_ttl=``. A ``multipart/form-data``
    body carries parts ``value`` and ``metadata`` (JSON text, whatever the part's
    Content-Type); any other body is the value's bytes, whatever its Content-Type
    (what wrangler and older SDKs send)."""
    await state.require(namespace_id)
    expiration = req.number("expiration")
    expiration_ttl = req.number("expiration_ttl")
    form = await req.form()
    metadata: Any = None
    if form is None:
        value = await req.body()
    else:
        part = form.get("value")
        if part is None:
            raise AdminError(L.MSG_MISSING_VALUE)
        value = part.data
        meta_part = form.get("metadata")
        if meta_part is not None and meta_part.data.strip():
            metadata = parse_json(meta_part.data, L.MSG_METADATA_JSON)
    with store_errors():
        await state.writer(namespace_id).put(
            key, value, expiration=expiration, expiration_ttl=expiration_ttl, metadata=metadata
        )
    return ok(None)


async def delete_value(
    state: AdminState, req: AdminRequest, namespace_id: str, key: str
) -> Response:
    """``DELETE .../values/{key}`` (the SDK sends a JSON Content-Type with an empty
    body: no body is read here)."""
    await state.require(namespace_id)
    with store_errors():
        await state.writer(namespace_id).delete(key)
    return ok(None)
