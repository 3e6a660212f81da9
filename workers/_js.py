"""The ``js`` module of Pyodide, as far as Python Workers code uses it (2024-style workers).

Visible only to Cloudflare projects (``runtime._standins``): ``Response.new``,
``Response.json``, ``Response.redirect``, ``Headers.new``, ``fetch``, ``Object``,
``JSON``, ``console`` (to the log), ``URL``, ``Date.now``, ``FormData``, ``Blob``.
Any other name is a JavaScript API edgeworks does not have: importing or using
it raises an ``ImportError`` that says so.
"""

from __future__ import annotations

import json as _json
import logging
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from workers._body import js_dict
from workers._entrypoints import fetch as _fetch
from workers._formdata import Blob as _Blob
from workers._formdata import FormData as _FormData
from workers._response import Response as _Response

_log = logging.getLogger("edgeworks.worker")
MSG_JS_NOT_AVAILABLE = (
    "js.{name} is a JavaScript API that is not available in edgeworks (see docs/python-workers.md)"
)


def _options(init: Any) -> dict[str, Any]:
    if init is None:
        return {}
    if isinstance(init, dict):
        return dict(init)
    return {k: getattr(init, k) for k in dir(init) if not k.startswith("_")}


class Response:
    """``js.Response``: ``Response.new(body, init)`` gives a ``workers.Response``."""

    @staticmethod
    def new(body: Any = None, init: Any = None, **kwargs: Any) -> _Response:
        options = {**_options(init), **kwargs}
        return _Response(
            body,
            status=options.get("status"),
            status_text=options.get("statusText", ""),
            headers=options.get("headers"),
        )

    @staticmethod
    def json(data: Any, init: Any = None, **kwargs: Any) -> _Response:
        options = {**_options(init), **kwargs}
        return _Response.from_json(data, options.get("status", 200), headers=options.get("headers"))

    @staticmethod
    def redirect(url: str, status: int = 302) -> _Response:
        return _Response.redirect(url, status)


class Headers:
    """``js.Headers.new(entries)``: a dict of header names (lower case) to values."""

    @staticmethod
    def new(entries: Any = None) -> dict[str, str]:
        items: Iterable[Any] = entries.items() if isinstance(entries, dict) else entries or ()
        return {str(k).lower(): str(v) for k, v in items}


class Object:
    """``js.Object``: ``fromEntries`` and ``new``."""

    @staticmethod
    def fromEntries(entries: Any) -> dict[str, Any]:
        items = entries.items() if isinstance(entries, dict) else entries
        result: dict[str, Any] = js_dict(dict(items))
        return result

    @staticmethod
    def new() -> dict[str, Any]:
        result: dict[str, Any] = js_dict({})
        return result


class JSON:
    """``js.JSON.stringify`` / ``js.JSON.parse``."""

    @staticmethod
    def stringify(value: Any) -> str:
        return _json.dumps(value, separators=(",", ":"))

    @staticmethod
    def parse(text: str) -> Any:
        return js_dict(_json.loads(text))


class console:
    """``js.console``: ``log``/``info`` and friends write to the worker's log."""

    @staticmethod
    def log(*args: Any) -> None:
        _log.info(" ".join(str(a) for a in args))

    info = debug = log

    @staticmethod
    def warn(*args: Any) -> None:
        _log.warning(" ".join(str(a) for a in args))

    @staticmethod
    def error(*args: Any) -> None:
        _log.error(" ".join(str(a) for a in args))


class URL:
    """``js.URL.new(url)``: ``href``, ``origin``, ``protocol``, ``host``, ``hostname``,
    ``port``, ``pathname``, ``search``, ``hash``, ``searchParams.get``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(str(url))
        self.href = str(url)
        self.protocol = f"{parts.scheme}:"
        self.host = parts.netloc
        self.hostname = parts.hostname or ""
        self.port = str(parts.port or "")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.pathname = parts.path or "/"
        self.search = f"?{parts.query}" if parts.query else ""
        self.hash = f"#{parts.fragment}" if parts.fragment else ""
        self.searchParams = _SearchParams(parse_qsl(parts.query, keep_blank_values=True))

    @classmethod
    def new(cls, url: str) -> URL:
        return cls(url)

    def toString(self) -> str:
        return self.href


class _SearchParams:
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str) -> str | None:
        return next((v for k, v in self._pairs if k == name), None)

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self._pairs)

    def getAll(self, name: str) -> list[str]:
        return [v for k, v in self._pairs if k == name]


class Date:
    """``js.Date.now()``: milliseconds since the epoch."""

    @staticmethod
    def now() -> int:
        return int(time.time() * 1000)


class FormData(_FormData):
    """``js.FormData.new()``."""

    @classmethod
    def new(cls, form: Any = None) -> FormData:
        return cls(form)


class Blob(_Blob):
    """``js.Blob.new(parts, options)``."""

    @classmethod
    def new(cls, parts: Any = (), options: Any = None) -> Blob:
        return cls(parts, content_type=_options(options).get("type"))


async def fetch(resource: Any, init: Any = None) -> Any:
    """``js.fetch(url, init)``: options as a dict (or an object), like JS."""
    options = _options(init)
    return await _fetch(resource, **options)


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    error = ImportError(MSG_JS_NOT_AVAILABLE.format(name=name), name="js")
    error.one_line = True  # type: ignore[attr-defined]  # says it all: no traceback
    raise error
