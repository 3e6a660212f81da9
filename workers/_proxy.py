"""What the blue-green and edge-auth workers share around the runtime's forwarder
(``runtime.forward``): their settings from ``[vars]``, the origin URL check, and
adding a header to the origin's response."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

_T = TypeVar("_T")


def env_var(env: Any, name: str, default: str) -> str:
    """A ``[vars]`` value as text, or ``default`` when the binding is absent."""
    value = getattr(env, name, None)
    return default if value is None else str(value)


def per_env(parse: Callable[[Any], _T]) -> Callable[[Any], _T]:
    """``parse(env)`` once per env object, not on every request (reading an unset var
    through ``Env`` costs an AttributeError); a dev reload hands over a new env."""
    last: list[Any] = [None, None]

    def settings_for(env: Any) -> _T:
        if last[0] is not env:
            last[:] = [env, parse(env)]
        result: _T = last[1]
        return result

    return settings_for


class OriginNotConfigured(Exception):
    """A worker's origin variable is missing or not an http(s) URL."""


def origin_base(value: object, var_name: str) -> str:
    """The origin URL from a worker variable, without a trailing slash.

    Raises ``OriginNotConfigured`` naming the variable when it is missing or not
    an ``http://`` / ``https://`` URL with a host.
    """
    if not isinstance(value, str) or not value.strip():
        raise OriginNotConfigured(f"[vars] {var_name} is not set; set it to the origin's URL")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise OriginNotConfigured(
            f"[vars] {var_name} = {value!r} is not an http(s) URL such as http://127.0.0.1:9000"
        )
    return value.strip().rstrip("/")


def add_header(response: httpx.Response, name: str, value: str) -> None:
    """Append a header (``Set-Cookie`` may repeat, so never replace)."""
    import httpx

    response.headers = httpx.Headers([*response.headers.raw, (name.encode(), value.encode())])
