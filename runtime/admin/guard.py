"""Who may use the admin API and the page.

- With a token (``serve --admin-token``, or ``dev`` on a non-loopback host): every
  admin request carries it, as ``Authorization: Bearer <token>`` (wrangler, the
  SDK, scripts), ``X-Auth-Key: <token>``, or HTTP Basic with the token as the
  password (how a browser sends it to the page); compared in constant time.
  Missing or wrong: 401, and nothing about the store in the body.
- ``dev`` on a loopback host (``local_only``): no token, but the ``Host`` header must
  be a loopback name or the bound address, so a page on another site cannot reach
  the API through DNS rebinding.
- Always: a request that changes data and carries an ``Origin`` must come from a
  page of this server (the Origin's host and port are the Host header's), so a
  page elsewhere cannot write through the browser.

>>> guard = Guard(token="s3cret")
>>> guard.check("POST", {"authorization": "Bearer s3cret"}) is None
True
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from runtime.admin import limits as L
from runtime.admin.errors import AdminError


def _hostname(authority: str) -> str:
    """The host name of a ``Host`` header value (``[::1]:8787`` -> ``::1``)."""
    try:
        name = urlsplit("//" + authority).hostname
    except ValueError:
        return ""
    return name or ""


@dataclass(frozen=True)
class Guard:
    """The checks every admin request passes; see the module docstring."""

    token: str | None = None
    local_only: bool = False
    bound_host: str | None = None

    def allowed_hosts(self) -> tuple[str, ...]:
        hosts: tuple[str, ...] = L.LOOPBACK_HOSTS
        if self.bound_host and self.bound_host not in hosts:
            hosts = (*hosts, self.bound_host)
        return hosts

    def check(self, method: str, headers: Mapping[str, str]) -> AdminError | None:
        """The refusal of a request with these (lower-cased) headers, or ``None``."""
        host = headers.get("host", "")
        if self.local_only:
            name = _hostname(host).lower()
            if not (name in self.allowed_hosts() or name.endswith(".localhost")):
                allowed = ", ".join(self.allowed_hosts())
                return AdminError(
                    L.MSG_HOST.format(host=host, allowed=allowed), status=403, code=L.CODE_AUTH
                )
        if self.token is not None and not self._authorized(headers):
            return AdminError(L.MSG_AUTH, status=401, code=L.CODE_AUTH)
        origin = headers.get("origin")
        if origin is not None and method not in L.SAFE_METHODS:
            try:
                parts = urlsplit(origin)
                same = parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()
            except ValueError:
                same = False
            if not same:
                return AdminError(
                    L.MSG_ORIGIN.format(origin=origin, host=host), status=403, code=L.CODE_AUTH
                )
        return None

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        assert self.token is not None
        expected = self.token.encode()
        given = b""
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            given = credentials.strip().encode("latin-1")
        elif scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True)
            except (binascii.Error, ValueError):
                decoded = b""
            given = decoded.partition(b":")[2]
        elif "x-auth-key" in headers:
            given = headers["x-auth-key"].encode("latin-1")
        # compare_digest takes time independent of where the bytes differ.
        return hmac.compare_digest(given, expected)
