"""``workers.workflows``: importable so Workflow code loads; Workflows are not supported
by edgeworks (a Workflow binding raises the "not supported" error when used)."""

from __future__ import annotations

__all__ = ["NonRetryableError"]


class NonRetryableError(Exception):
    """Raised in a Workflow step to stop retries (kept for imports to work)."""
