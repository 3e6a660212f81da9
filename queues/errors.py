"""Errors raised by queue bindings, stores and consumers.

Exception tree::

    QueueError              a queue operation failed; ``status`` is the HTTP status it
                            maps to (400 bad option, 413 too large, 503 store unavailable)

Validation errors that Workers reports as ``TypeError`` (a ``None`` body, an
unsupported content type, a body of the wrong type for its content type) are
plain ``TypeError`` here too. Stores raise ``kv.StoreUnavailable`` when they
cannot reach their storage (the same family as KV); the binding turns it into a
503 ``QueueError``.
"""

from __future__ import annotations


class QueueError(Exception):
    """A queue operation failed.

    ``str(err)`` is the Workers message, for example
    ``Queue send failed: message length of 128001 bytes exceeds limit of 128000``.
    """

    def __init__(self, operation: str, status: int, detail: str) -> None:
        self.operation = operation
        self.status = status
        self.detail = detail
        super().__init__(f"Queue {operation} failed: {detail}")
