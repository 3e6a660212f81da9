"""What a handler gets from a request: the method, the query, the headers and (only
when asked for) the body; and the one decoding of a raw path segment.

Keys may hold ``/ ? % +`` and spaces, so the path is split on the raw bytes and
each segment percent-decoded exactly once (no ``+`` -> space: that is a query
rule, not a path rule).
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.types import Receive, Scope

from kv.bulk import no_json_constant
from runtime.admin import limits as L
from runtime.admin._multipart import Part, parse_multipart
from runtime.admin.errors import AdminError

__all__ = ["AdminRequest", "decode_segment", "parse_json"]


def parse_json(data: bytes, message: str) -> Any:
    """``data`` as JSON (``NaN``/``Infinity`` refused); a 400 with ``message``
    (a format with ``{detail}``) when it is not."""
    try:
        return json.loads(data.decode("utf-8-sig"), parse_constant=no_json_constant)
    except UnicodeDecodeError as err:
        raise AdminError(message.format(detail=f"not UTF-8 text (byte {err.start})")) from None
    except (ValueError, RecursionError) as err:
        raise AdminError(message.format(detail=err)) from None


def decode_segment(segment: str) -> str:
    """One raw path segment, percent-decoded once; invalid UTF-8 is a 400."""
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise AdminError(L.MSG_BAD_PATH_SEGMENT.format(segment=segment)) from None


class AdminRequest:
    """One API request (the path parameters are decoded by the router)."""

    def __init__(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> None:
        self.scope = scope
        self._receive = receive
        self.method: str = scope["method"]
        self.query = dict(
            parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        )
        self.headers = headers  # lower-cased names

    # --- query --------------------------------------------------------------------

    def number(self, name: str) -> float | None:
        """A numeric query parameter (``"120"`` or ``"120.0"``); ``None`` when absent."""
        text = self.query.get(name)
        if text is None or text == "":
            return None
        try:
            value = float(text)
        except ValueError:
            raise AdminError(L.MSG_BAD_NUMBER.format(name=name, value=text)) from None
        if not math.isfinite(value):
            raise AdminError(L.MSG_BAD_NUMBER.format(name=name, value=text))
        return value

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        """An integer query parameter within ``[minimum, maximum]``."""
        text = self.query.get(name)
        if text is None or text == "":
            return default
        value = self.number(name)
        if value is None or not value.is_integer() or not minimum <= value <= maximum:
            raise AdminError(
                L.MSG_BAD_PAGE.format(name=name, minimum=minimum, maximum=maximum, value=text)
            )
        return int(value)

    def paging(self) -> tuple[int, int]:
        """``page`` (from 1) and ``per_page`` of a paged list."""
        page = self.integer("page", 1, 1, L.MAX_PAGE)
        per_page = self.integer("per_page", L.NAMESPACES_PER_PAGE, 1, L.MAX_NAMESPACES_PER_PAGE)
        return page, per_page

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        """A query parameter from ``allowed`` (the first one when absent)."""
        text = self.query.get(name) or allowed[0]
        if text not in allowed:
            raise AdminError(L.MSG_BAD_CHOICE.format(name=name, allowed=list(allowed), value=text))
        return text

    # --- body ---------------------------------------------------------------------

    async def body(self) -> bytes:
        """The whole body, at most ``MAX_REQUEST_BYTES`` (413 beyond, read no further)."""
        length = self.headers.get("content-length", "")
        if length.isdigit() and int(length) > L.MAX_REQUEST_BYTES:
            raise AdminError(L.MSG_BODY_TOO_LARGE.format(limit=L.MAX_REQUEST_BYTES), status=413)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > L.MAX_REQUEST_BYTES:
                raise AdminError(L.MSG_BODY_TOO_LARGE.format(limit=L.MAX_REQUEST_BYTES), status=413)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def json(self) -> Any:
        """The body parsed as JSON (``NaN``/``Infinity`` refused)."""
        return parse_json(await self.body(), L.MSG_BODY_NOT_JSON)

    async def form(self) -> dict[str, Part] | None:
        """The parts of a ``multipart/form-data`` body by name, or ``None`` when the
        body is not multipart (then the caller reads it as the value itself)."""
        content_type = self.headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
            return None
        return parse_multipart(content_type, await self.body())
