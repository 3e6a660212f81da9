"""Errors of the admin API.

Exception tree::

    AdminError      a request the API refuses; ``status`` is the HTTP status and
                    ``code`` the Cloudflare error code of the envelope
"""

from __future__ import annotations

from runtime.admin import limits as L


class AdminError(Exception):
    """A refused request: answered with the failure envelope, never a 500.

    >>> raise AdminError(L.MSG_KEY_NOT_FOUND, status=404, code=L.CODE_KEY_NOT_FOUND)
    """

    def __init__(self, message: str, *, status: int = 400, code: int = L.CODE_VALIDATION) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
