"""What Python Workers code uses from ``pyodide`` (``pyodide.ffi``, ``pyodide.http``,
``pyodide.code``), for native CPython. Visible only to Cloudflare projects.

There is no JavaScript side, so ``to_js`` is the identity (``bytes`` gain a
``.buffer`` that ``Response`` accepts), proxies need no destroying, and
``run_sync`` runs an awaitable to completion from synchronous code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

jsnull = None


class JsProxy:
    """Base of the stand-in objects (``isinstance`` checks in user code keep working)."""


class JsException(Exception):
    """An error raised by JavaScript code (never raised natively; catchable)."""


class _Buffer(bytes):
    @property
    def buffer(self) -> bytes:
        return bytes(self)


def to_js(
    value: Any, *args: Any, dict_converter: Callable[..., Any] | None = None, **kw: Any
) -> Any:
    """The value itself; ``bytes`` come back with ``.buffer`` (``to_js(png).buffer``)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return _Buffer(bytes(value))
    if dict_converter is not None and isinstance(value, dict):
        return dict_converter(value.items())
    return value


class _Proxy:
    def __init__(self, func: Callable[..., Any]) -> None:
        self._func = func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._func(*args, **kwargs)

    def destroy(self) -> None:
        """Nothing to free natively."""


def create_proxy(func: Callable[..., Any], *args: Any, **kwargs: Any) -> _Proxy:
    """A callable wrapper with ``destroy()``."""
    return _Proxy(func)


create_once_callable = create_proxy


def run_sync(awaitable: Awaitable[Any]) -> Any:
    """Run ``awaitable`` to completion from synchronous code (on a helper thread when
    an event loop is already running in this thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_wrap(awaitable))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _wrap(awaitable)).result()


async def _wrap(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


async def pyfetch(url: str, **options: Any) -> Any:
    """``pyodide.http.pyfetch``: a ``FetchResponse`` (``await r.json()``)."""
    from workers._entrypoints import fetch

    return await fetch(url, **options)


def relaxed_call(func: Callable[..., Any], *args: Any) -> Any:
    """Call ``func`` with as many of ``args`` as it takes."""
    params = inspect.signature(func).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return func(*args)
    return func(*args[: len(params)])
