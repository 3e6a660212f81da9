"""What ``Request`` and ``Response`` share: headers as ``HTTPMessage`` and a body read once.

Cloudflare's SDK gives ``headers`` as an ``http.client.HTTPMessage`` whose
duplicate names read back joined (``"a, b"``, as JS ``Headers`` does) and lets a
body be read once: a second ``text()``/``bytes()``/``json()`` raises ``OSError``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable, Mapping
from http.client import HTTPMessage
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers._formdata import Blob, FormData

MSG_BAD_HEADERS = "Received unexpected type for headers argument"


class JsDict(dict[str, Any]):
    """A dict with attribute access, as the SDK returns JS objects (``data.name``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def js_dict(value: Any) -> Any:
    """``value`` with every nested dict turned into a ``JsDict``."""
    if isinstance(value, dict):
        return JsDict({k: js_dict(v) for k, v in value.items()})
    if isinstance(value, list):
        return [js_dict(v) for v in value]
    return value


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """``(name, value)`` pairs of a dict, a list of tuples, an ``HTTPMessage`` or a
    starlette/httpx headers object; anything else is the SDK's ``TypeError``."""
    if headers is None:
        return []
    if isinstance(headers, HTTPMessage):
        return [(k, str(v)) for k, v in headers.items()]
    multi = getattr(headers, "multi_items", None)
    if callable(multi):  # starlette and httpx headers keep duplicates there
        return [(str(k), str(v)) for k, v in multi()]
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    if isinstance(headers, list | tuple) and all(
        isinstance(p, list | tuple) and len(p) == 2 for p in headers
    ):
        return [(str(k), str(v)) for k, v in headers]
    raise TypeError(MSG_BAD_HEADERS)


def http_message(pairs: Iterable[tuple[str, str]]) -> HTTPMessage:
    """An ``HTTPMessage``; repeated names are joined with ``", "`` except Set-Cookie."""
    joined: dict[str, tuple[str, list[str]]] = {}
    cookies: list[str] = []
    for name, value in pairs:
        lower = name.lower()
        if lower == "set-cookie":
            cookies.append(value)
            continue
        joined.setdefault(lower, (name, []))[1].append(value)
    message = HTTPMessage()
    for name, values in joined.values():
        message[name] = ", ".join(values)
    for value in cookies:
        message["Set-Cookie"] = value
    return message


class Body:
    """A body read at most once: ``text``, ``json``, ``bytes``, ``buffer``, ``form_data``."""

    _used_message = "Body already used"

    def __init__(self, content: bytes | AsyncIterable[bytes] | None) -> None:
        self._content = content
        self._used = False

    @property
    def body_used(self) -> bool:
        return self._used

    @property
    def bodyUsed(self) -> bool:  # the JS name
        return self._used

    def _content_type(self) -> str:
        raise NotImplementedError

    async def _read(self) -> bytes:
        if self._used:
            raise OSError(self._used_message)
        self._used = True
        content = self._content
        if content is None:
            return b""
        if isinstance(content, bytes):
            return content
        return b"".join([chunk async for chunk in content])

    async def bytes(self) -> bytes:
        return await self._read()

    async def buffer(self) -> memoryview:
        return memoryview(await self._read())

    arrayBuffer = buffer  # the JS name

    async def text(self) -> str:
        return (await self._read()).decode("utf-8", "replace")

    async def _json(self, **kwargs: Any) -> Any:
        return js_dict(json.loads(await self._read(), **kwargs))

    async def form_data(self) -> FormData:
        from workers._formdata import parse_form

        return parse_form(await self._read(), self._content_type())

    formData = form_data  # the JS name

    async def blob(self) -> Blob:
        from workers._formdata import Blob

        return Blob([await self._read()], content_type=self._content_type() or None)
