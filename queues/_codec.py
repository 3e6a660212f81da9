"""Message bodies: content types, encoding on send and decoding on delivery.

``json`` (default): ``json.dumps``, delivered as ``json.loads``; ``text``: a
``str``, delivered as ``str``; ``bytes``: any bytes-like object, delivered as
``bytes``. ``v8`` (and anything else) is refused with the Workers message.
"""

from __future__ import annotations

import json
from typing import Any

from queues.limits import (
    CONTENT_TYPES,
    DEFAULT_CONTENT_TYPE,
    MSG_BODY_NONE,
    MSG_BYTES_TYPE,
    MSG_CONTENT_TYPE,
    MSG_JSON_TYPE,
    MSG_TEXT_TYPE,
)


def content_type(given: object) -> str:
    """The canonical content type for ``given`` (``None`` -> json); TypeError otherwise."""
    if given is None:
        return DEFAULT_CONTENT_TYPE
    if isinstance(given, str) and given.lower() in CONTENT_TYPES:
        return given.lower()
    raise TypeError(MSG_CONTENT_TYPE.format(type=given))


def encode(body: object, kind: str) -> bytes:
    """``body`` serialized for ``kind`` (a canonical content type)."""
    if body is None:
        raise TypeError(MSG_BODY_NONE)
    if kind == "text":
        if not isinstance(body, str):
            raise TypeError(MSG_TEXT_TYPE.format(type=type(body).__name__))
        return body.encode("utf-8", "surrogatepass")
    if kind == "bytes":
        if not isinstance(body, bytes | bytearray | memoryview):
            raise TypeError(MSG_BYTES_TYPE.format(type=type(body).__name__))
        return bytes(body)
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(MSG_JSON_TYPE.format(detail=exc)) from None
    return text.encode("utf-8", "surrogatepass")


def decode(data: bytes, kind: str) -> Any:
    """What the consumer sees for stored ``data`` of ``kind``."""
    if kind == "bytes":
        return data
    text = data.decode("utf-8", "surrogatepass")
    return text if kind == "text" else json.loads(text)
