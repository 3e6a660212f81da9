"""List cursors: an opaque ``str`` that names where the next page starts.

A cursor holds the prefix it was issued for and the last key of its page, plus a
checksum over both and the namespace id. Anything else passed back (garbage, a
truncated or edited cursor, one from another namespace or another prefix) is
``KV GET failed: 400 Invalid cursor.``, stricter than Miniflare, so a bug in
pagination code shows up at once instead of silently restarting a listing.

The checksum key is fixed, so every process and host accepts the cursors of every
other (a client may page through different ``serve`` processes). It detects
mistakes, it is not a secret: a cursor only ever says where to resume a listing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from kv import limits as L
from kv.errors import KVError

_KEY = b"edgeworks-kv-cursor-v1"
_DIGEST_BYTES = 8


def _digest(namespace: str, payload: bytes) -> bytes:
    # surrogatepass: namespace ids come from config and are not validated as keys are.
    data = namespace.encode("utf-8", "surrogatepass") + b"\0" + payload
    return hashlib.blake2b(data, key=_KEY, digest_size=_DIGEST_BYTES).digest()


def encode_cursor(namespace: str, prefix: str, last_key: str) -> str:
    """The cursor for the page that follows ``last_key`` under ``prefix``."""
    payload = json.dumps([prefix, last_key], ensure_ascii=False, separators=(",", ":")).encode()
    raw = _digest(namespace, payload) + payload
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(namespace: str, prefix: str, cursor: object) -> str:
    """The last key of the page ``cursor`` was issued for; it must have been issued by
    this namespace for the same ``prefix``."""
    invalid = KVError(L.OP_LIST, L.STATUS_BAD_REQUEST, L.MSG_CURSOR_INVALID)
    if not isinstance(cursor, str) or not cursor.isascii():
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
    # The decoder skips characters outside the alphabet; only the exact text we issued counts.
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != cursor:
        raise invalid
    digest, payload = raw[:_DIGEST_BYTES], raw[_DIGEST_BYTES:]
    if not hmac.compare_digest(digest, _digest(namespace, payload)):
        raise invalid
    try:
        issued_prefix, last_key = json.loads(payload)
    except (ValueError, TypeError):
        raise invalid from None
    if issued_prefix != prefix or not isinstance(last_key, str):
        raise invalid
    return last_key
