"""Validation of KV arguments (docs/kv.md): every check raises the Workers KV error.

Each function checks one argument and returns it in the form the namespace uses
(an encoded key length, an absolute expiration, compact metadata JSON, ...).
"""

from __future__ import annotations

import json
import math
from typing import Any

from kv import limits as L
from kv.errors import KVError


def _integer(value: object) -> int | None:
    """``value`` as an ``int`` when it is an integer (an integral float counts), else
    ``None``; ``bool`` is not an integer here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def shown(value: object) -> str:
    """How a rejected value appears in a message: integral floats without ``.0``."""
    number = _integer(value)
    return str(number) if number is not None else str(value)


def check_key(key: object, op: str) -> None:
    """Key rules of get/put/delete (and each key of a bulk get, with ``GET_BULK``)."""
    # The common key passes in one line (an ASCII key's byte length is its length);
    # every read and write runs this check.
    if (
        key.__class__ is str
        and key.isascii()
        and 0 < len(key) <= L.MAX_KEY_BYTES
        and key not in L.RESERVED_KEYS
    ):
        return
    if not isinstance(key, str):
        raise TypeError(L.MSG_KEY_NOT_STR.format(type=type(key).__name__))
    if key == "":
        raise TypeError(L.MSG_KEY_EMPTY)
    if key in L.RESERVED_KEYS:
        raise TypeError(L.MSG_KEY_RESERVED.format(key=key))
    check_key_bytes(key, op)


def check_key_bytes(text: str, op: str) -> None:
    """A key or prefix is valid UTF-8 and at most ``MAX_KEY_BYTES`` long."""
    try:
        length = len(text.encode())
    except UnicodeEncodeError as err:
        char = text[err.start]
        raise KVError(
            op, L.STATUS_BAD_REQUEST, L.MSG_KEY_NOT_UTF8.format(char=ascii(char), index=err.start)
        ) from None
    if length > L.MAX_KEY_BYTES:
        raise KVError(
            op,
            L.STATUS_URI_TOO_LONG,
            L.MSG_KEY_TOO_LONG.format(length=length, limit=L.MAX_KEY_BYTES),
        )


def check_cache_ttl(cache_ttl: object, op: str) -> float:
    """``cache_ttl`` in seconds: the default when ``None``, else at least ``MIN_CACHE_TTL``."""
    if cache_ttl is None:
        return float(L.DEFAULT_CACHE_TTL)
    if (
        isinstance(cache_ttl, bool)
        or not isinstance(cache_ttl, int | float)
        or math.isnan(cache_ttl)
        or cache_ttl < L.MIN_CACHE_TTL
    ):
        raise KVError(
            op,
            L.STATUS_BAD_REQUEST,
            L.MSG_CACHE_TTL.format(value=shown(cache_ttl), minimum=L.MIN_CACHE_TTL),
        )
    return float(cache_ttl)


def resolve_expiration(expiration: object, expiration_ttl: object, now: float) -> int | None:
    """The absolute expiration of a put. The TTL wins when both are given (and then
    ``expiration`` is not validated); a TTL counts from ``int(now)``."""
    op, bad = L.OP_PUT, L.STATUS_BAD_REQUEST
    if expiration_ttl is not None:
        ttl = _integer(expiration_ttl)
        value = shown(expiration_ttl)
        if ttl is None or ttl <= 0:
            raise KVError(op, bad, L.MSG_TTL_NOT_POSITIVE.format(value=value))
        if ttl < L.MIN_EXPIRATION_TTL:
            raise KVError(
                op, bad, L.MSG_TTL_TOO_SMALL.format(value=value, minimum=L.MIN_EXPIRATION_TTL)
            )
        if int(now) + ttl > L.MAX_EXPIRATION:
            raise KVError(
                op, bad, L.MSG_TTL_TOO_LARGE.format(value=value, maximum=L.MAX_EXPIRATION)
            )
        return int(now) + ttl
    if expiration is not None:
        absolute = _integer(expiration)
        value = shown(expiration)
        if absolute is None or absolute <= now:
            raise KVError(op, bad, L.MSG_EXPIRATION_PAST.format(value=value))
        if absolute < now + L.MIN_EXPIRATION_TTL:
            raise KVError(
                op,
                bad,
                L.MSG_EXPIRATION_TOO_SOON.format(value=value, minimum=L.MIN_EXPIRATION_TTL),
            )
        if absolute > L.MAX_EXPIRATION:
            raise KVError(
                op, bad, L.MSG_EXPIRATION_TOO_LARGE.format(value=value, maximum=L.MAX_EXPIRATION)
            )
        return absolute
    return None


def encode_metadata(metadata: object) -> str | None:
    """Compact JSON text of ``metadata`` (``None``: no metadata), at most
    ``MAX_METADATA_BYTES`` bytes."""
    if metadata is None:
        return None
    try:
        text = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        length = len(text.encode())
    except (TypeError, ValueError, RecursionError):
        # ValueError covers NaN/Infinity, circular references and lone surrogates.
        raise KVError(L.OP_PUT, L.STATUS_BAD_REQUEST, L.MSG_METADATA_NOT_JSON) from None
    if length > L.MAX_METADATA_BYTES:
        raise KVError(
            L.OP_PUT,
            L.STATUS_TOO_LARGE,
            L.MSG_METADATA_TOO_LARGE.format(length=length, limit=L.MAX_METADATA_BYTES),
        )
    return text


def decode_metadata(text: str | None) -> Any:
    """The JSON value stored as metadata (``None`` when there is none)."""
    return None if text is None else json.loads(text)


def check_value_size(length: int) -> None:
    """A value is at most ``MAX_VALUE_BYTES`` long."""
    if length > L.MAX_VALUE_BYTES:
        raise KVError(
            L.OP_PUT,
            L.STATUS_TOO_LARGE,
            L.MSG_VALUE_TOO_LARGE.format(length=length, limit=L.MAX_VALUE_BYTES),
        )


def encode_text(text: str) -> bytes:
    """UTF-8 bytes of a text value; a lone surrogate is a 400, not silent replacement."""
    try:
        return text.encode()
    except UnicodeEncodeError as err:
        char = text[err.start]
        raise KVError(
            L.OP_PUT,
            L.STATUS_BAD_REQUEST,
            L.MSG_VALUE_NOT_UTF8.format(char=ascii(char), index=err.start),
        ) from None


def check_get_type(type_: object) -> str:
    """A response type of ``get`` (``"arrayBuffer"`` is read as ``"bytes"``)."""
    if not isinstance(type_, str) or type_ not in L.GET_TYPES:
        raise TypeError(L.MSG_GET_TYPE)
    return "bytes" if type_ == "arrayBuffer" else type_


def check_bulk(keys: list[object] | tuple[object, ...], type_: object) -> list[str]:
    """The unique keys of a bulk get in request order (type, then count, then each key)."""
    op = L.OP_GET_BULK
    if type_ not in L.BULK_GET_TYPES:
        raise KVError(op, L.STATUS_BAD_REQUEST, L.MSG_BULK_TYPE.format(type=type_))
    if len(keys) > L.MAX_BULK_GET_KEYS:
        raise KVError(
            op, L.STATUS_BAD_REQUEST, L.MSG_BULK_TOO_MANY.format(maximum=L.MAX_BULK_GET_KEYS)
        )
    if len(keys) < L.MIN_BULK_GET_KEYS:
        raise KVError(
            op, L.STATUS_BAD_REQUEST, L.MSG_BULK_TOO_FEW.format(minimum=L.MIN_BULK_GET_KEYS)
        )
    for key in keys:
        check_key(key, op)
    return list(dict.fromkeys(keys))  # type: ignore[arg-type]  # all str after check_key


def check_list_limit(limit: object) -> int:
    """Keys per list page: ``MAX_LIST_LIMIT`` when ``None`` or <= 0, never more."""
    if limit is None:
        return L.MAX_LIST_LIMIT
    count = _integer(limit)
    if count is None:
        raise KVError(
            L.OP_LIST, L.STATUS_BAD_REQUEST, L.MSG_LIST_LIMIT_NOT_INT.format(value=shown(limit))
        )
    if count > L.MAX_LIST_LIMIT:
        raise KVError(
            L.OP_LIST,
            L.STATUS_BAD_REQUEST,
            L.MSG_LIST_LIMIT_TOO_LARGE.format(value=count, maximum=L.MAX_LIST_LIMIT),
        )
    return count if count > 0 else L.MAX_LIST_LIMIT


def check_prefix(prefix: object) -> str:
    """A list prefix (``None`` means every key), at most ``MAX_KEY_BYTES`` long."""
    if prefix is None:
        return ""
    if not isinstance(prefix, str):
        raise TypeError(L.MSG_PREFIX_NOT_STR.format(type=type(prefix).__name__))
    check_key_bytes(prefix, L.OP_LIST)
    return prefix
