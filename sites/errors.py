"""Errors of the static-site package.

Exception tree::

    SiteError            base; ``status`` is the HTTP status it maps to (500 by default)
    └── DeployError      a deploy was refused (limits, symlinks, unreadable files); the live
                         site is unchanged; ``offenders`` lists one line per problem
"""

from __future__ import annotations

from collections.abc import Sequence


class SiteError(Exception):
    """Base class of static-site errors."""

    status: int = 500


class DeployError(SiteError):
    """A deploy was refused before anything became visible.

    ``str(err)`` names every offending file and the limit it broke.
    """

    def __init__(self, message: str, offenders: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.offenders = list(offenders)
