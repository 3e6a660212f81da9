"""Bulk files in wrangler's JSON format (``edgeworks kv bulk put|delete|get``).

- put: an array of ``{"key", "value", "expiration"?, "expiration_ttl"?, "metadata"?,
  "base64"?}``; ``base64: true`` means ``value`` is base64 of raw bytes.
- delete and get: an array of key strings or of ``{"name": key}`` objects.

Every item is checked with the rules of ``KVNamespace.put`` / ``delete`` (the same
validators, so the messages are the Workers KV ones) and every bad item is
reported, by index, before anything is written. A valid put file becomes one
``Store.write_batch``: all keys or none.

>>> ops, warnings = parse_put_file(Path("bulk.json").read_bytes(), now=time.time())
>>> await write_batch(ns, ops)
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
from collections.abc import Sequence
from typing import Any

from kv import _validate as V
from kv import limits as L
from kv._namespace import KVNamespace, store_errors
from kv.backends.base import WriteOp
from kv.errors import BulkFileError, KVError

__all__ = [
    "BulkFileError",
    "json_type",
    "no_json_constant",
    "parse_keys_file",
    "parse_put_file",
    "write_batch",
]

# How a JSON value's type is named in messages (JSON's names, not Python's).
_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def json_type(value: object) -> str:
    """How a JSON value's type is named in messages: ``"an object"``, ``"null"``, ..."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def no_json_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON, whatever Python's json module accepts
    (pass as ``json.loads(..., parse_constant=no_json_constant)``)."""
    raise ValueError(f"{name} is not valid JSON")


def _load_array(data: bytes | str, source: str, shape: str) -> list[Any]:
    """The top-level JSON array of a bulk file."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        items = json.loads(text, parse_constant=no_json_constant)
    except UnicodeDecodeError as err:
        detail = f"not UTF-8 text (byte {err.start})"
        raise BulkFileError(L.MSG_BULK_FILE_NOT_JSON.format(source=source, detail=detail)) from None
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        raise BulkFileError(L.MSG_BULK_FILE_NOT_JSON.format(source=source, detail=err)) from None
    if not isinstance(items, list):
        raise BulkFileError(
            L.MSG_BULK_FILE_NOT_ARRAY.format(source=source, shape=shape, type=json_type(items))
        )
    return items


def _fail(source: str, problems: list[str]) -> BulkFileError:
    header = L.MSG_BULK_FILE_HEADER.format(source=source, count=len(problems))
    return BulkFileError(header, problems)


def _kv_message(err: Exception) -> str:
    """The Workers KV message of a validation failure (``KVError`` or ``TypeError``)."""
    return str(err)


# --- put ----------------------------------------------------------------------------


def parse_put_file(
    data: bytes | str, *, now: float, source: str = "bulk file"
) -> tuple[list[WriteOp], list[str]]:
    """The writes of a bulk put file, and warnings (unknown fields are ignored, as
    wrangler does). ``now`` (epoch seconds) resolves ``expiration_ttl``. Raises
    ``BulkFileError`` listing every bad item."""
    items = _load_array(data, source, L.MSG_BULK_PUT_SHAPE)
    ops: list[WriteOp] = []
    problems: list[str] = []
    warnings: list[str] = []
    for index, item in enumerate(items):
        label = f"item {index}"
        if not isinstance(item, dict):
            shape = 'an object like {"key": ..., "value": ...}'
            problems.append(
                f"{label}: " + L.MSG_BULK_ITEM_TYPE.format(shape=shape, type=json_type(item))
            )
            continue
        if isinstance(item.get("key"), str):
            label += f" (key {item['key']!r})"
        for name in item:
            if name not in L.BULK_PUT_FIELDS:
                close = difflib.get_close_matches(name, L.BULK_PUT_FIELDS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                warnings.append(
                    f"{label}: " + L.MSG_BULK_UNKNOWN_FIELD.format(field=name, hint=hint)
                )
        op, bad = _put_op(item, now)
        if bad:
            problems.append(f"{label}: " + "; ".join(bad))
        if op is not None:
            ops.append(op)
    if problems:
        raise _fail(source, problems)
    return ops, warnings


def _put_op(item: dict[str, Any], now: float) -> tuple[WriteOp | None, list[str]]:
    """One item as a write, or every problem with it. Checks run in ``put``'s order:
    key, expiration, metadata, value size; type problems of each field come first."""
    bad: list[str] = []
    key, value = item.get("key"), item.get("value")
    for name in ("key", "value"):
        field = item.get(name)
        if name not in item:
            bad.append(L.MSG_BULK_FIELD_MISSING.format(field=name))
        elif not isinstance(field, str):
            bad.append(_field_type(name, "a string", field))
    is_base64 = item.get("base64", False)
    if not isinstance(is_base64, bool):
        bad.append(_field_type("base64", "a boolean", is_base64))
    for name in ("expiration", "expiration_ttl"):
        field = item.get(name)
        if field is not None and (isinstance(field, bool) or not isinstance(field, int | float)):
            bad.append(_field_type(name, "a number", field))
    metadata = item.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        bad.append(_field_type("metadata", "an object", metadata))
    if bad:
        return None, bad

    assert isinstance(key, str) and isinstance(value, str)
    expires: int | None = None
    meta_text: str | None = None
    raw = b""
    try:
        V.check_key(key, L.OP_PUT)
    except (KVError, TypeError) as err:
        bad.append(_kv_message(err))
    try:
        expires = V.resolve_expiration(item.get("expiration"), item.get("expiration_ttl"), now)
    except KVError as err:
        bad.append(_kv_message(err))
    try:
        meta_text = V.encode_metadata(metadata)
    except KVError as err:
        bad.append(_kv_message(err))
    try:
        raw = _decode_base64(value) if is_base64 else V.encode_text(value)
        V.check_value_size(len(raw))
    except (KVError, ValueError) as err:
        bad.append(_kv_message(err))
    if bad:
        return None, bad
    return WriteOp(key, raw, expires, meta_text), []


def _field_type(name: str, expected: str, value: object) -> str:
    return L.MSG_BULK_FIELD_TYPE.format(field=name, expected=expected, type=json_type(value))


def _decode_base64(value: str) -> bytes:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError(L.MSG_BULK_BASE64) from None


# --- delete and get -------------------------------------------------------------------


def parse_keys_file(data: bytes | str, *, op: str, source: str = "bulk file") -> list[str]:
    """The keys of a bulk delete or get file: ``["a", ...]`` or ``[{"name": "a"}, ...]``,
    each checked with the key rules of ``op`` (``"DELETE"`` or ``"GET_BULK"``). Raises
    ``BulkFileError`` listing every bad item."""
    items = _load_array(data, source, L.MSG_BULK_KEYS_SHAPE)
    keys: list[str] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        label = f"item {index}"
        key: object = item
        if isinstance(item, dict):
            if "name" not in item:
                problems.append(f"{label}: " + L.MSG_BULK_FIELD_MISSING.format(field="name"))
                continue
            key = item["name"]
            if not isinstance(key, str):
                problems.append(f"{label}: " + _field_type("name", "a string", key))
                continue
        elif not isinstance(item, str):
            shape = 'a key string or a {"name": ...} object'
            problems.append(
                f"{label}: " + L.MSG_BULK_ITEM_TYPE.format(shape=shape, type=json_type(item))
            )
            continue
        assert isinstance(key, str)
        try:
            V.check_key(key, op)
        except (KVError, TypeError) as err:
            problems.append(f"{label} (key {key!r}): {_kv_message(err)}")
            continue
        keys.append(key)
    if problems:
        raise _fail(source, problems)
    return keys


# --- writing ----------------------------------------------------------------------------


async def write_batch(ns: KVNamespace, ops: Sequence[WriteOp]) -> None:
    """Apply ``ops`` to ``ns`` in one store transaction (a 503 ``KVError`` when the
    store is down); the namespace's edge cache, if any, forgets the keys."""
    if not ops:
        return
    writes = any(o.value is not None for o in ops)
    with store_errors(L.OP_PUT if writes else L.OP_DELETE, L.KIND_PUT if writes else L.KIND_DELETE):
        await ns.store.write_batch(ns.id, ops)
    if ns.cache is not None:
        for op in ops:
            ns.cache.invalidate(ns.id, op.key)
