"""Bulk endpoints: write (``PUT .../bulk``), delete (``DELETE .../bulk`` as wrangler
sends it, ``POST .../bulk/delete`` as the SDKs do) and get (``POST .../bulk/get``).

Bodies are wrangler's bulk format, parsed and checked by ``kv.bulk`` (the same
code as ``edgeworks kv bulk``): every bad item is reported and nothing is written
unless every item is valid; a valid request is one store transaction.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from kv import limits as KL
from kv.backends import WriteOp
from kv.bulk import BulkFileError, json_type, parse_keys_file, parse_put_file, write_batch
from runtime.admin import limits as L
from runtime.admin._envelope import ok
from runtime.admin._request import AdminRequest
from runtime.admin._state import AdminState, store_errors
from runtime.admin.errors import AdminError

_SOURCE = "request body"


def _check_count(count: int) -> None:
    if count > L.MAX_BULK_ITEMS:
        raise AdminError(L.MSG_TOO_MANY_ITEMS.format(limit=L.MAX_BULK_ITEMS, count=count))


def _done(count: int, warnings: list[str] | None = None) -> Response:
    return ok({"successful_key_count": count, "unsuccessful_keys": []}, messages=warnings or [])


async def bulk_write(state: AdminState, req: AdminRequest, namespace_id: str) -> Response:
    """``PUT .../bulk``: ``[{"key", "value", "base64"?, "expiration"?,
    "expiration_ttl"?, "metadata"?}, ...]``, at most ``MAX_BULK_ITEMS``."""
    await state.require(namespace_id)
    data = await req.body()
    try:
        ops, warnings = parse_put_file(data, now=state.clock(), source=_SOURCE)
    except BulkFileError as err:
        raise AdminError(str(err)) from None
    _check_count(len(ops))
    with store_errors():
        await write_batch(state.writer(namespace_id), ops)
    return _done(len(ops), warnings)


async def bulk_delete(state: AdminState, req: AdminRequest, namespace_id: str) -> Response:
    """``DELETE .../bulk`` or ``POST .../bulk/delete``: ``["key", ...]``."""
    await state.require(namespace_id)
    data = await req.body()
    try:
        keys = parse_keys_file(data, op=KL.OP_DELETE, source=_SOURCE)
    except BulkFileError as err:
        raise AdminError(str(err)) from None
    _check_count(len(keys))
    with store_errors():
        await write_batch(state.writer(namespace_id), [WriteOp(key, None) for key in keys])
    return _done(len(keys))


async def bulk_get(state: AdminState, req: AdminRequest, namespace_id: str) -> Response:
    """``POST .../bulk/get {"keys": [...], "type"?, "withMetadata"?}``: ``{"values":
    {key: value or null}}``, each value ``{"value", "metadata"}`` with metadata."""
    await state.require(namespace_id)
    body = await req.json()
    if not isinstance(body, dict):
        shape = 'an object {"keys": [...]}'
        raise AdminError(L.MSG_BODY_SHAPE.format(shape=shape, type=json_type(body)))
    keys, type_ = body.get("keys"), body.get("type", "text")
    with_metadata = body.get("withMetadata", False)
    if not isinstance(keys, list):
        raise AdminError(
            L.MSG_FIELD_TYPE.format(field="keys", expected="an array", type=json_type(keys))
        )
    if not isinstance(with_metadata, bool):
        raise AdminError(
            L.MSG_FIELD_TYPE.format(
                field="withMetadata", expected="a boolean", type=json_type(with_metadata)
            )
        )
    ns = state.reader(namespace_id)
    values: dict[str, Any]
    with store_errors():
        if with_metadata:
            found = await ns.get_with_metadata(keys, type_)
            values = {
                k: None if v is None else {"value": v.value, "metadata": v.metadata}
                for k, v in found.items()
            }
        else:
            values = await ns.get(keys, type_)
    return ok({"values": values})
