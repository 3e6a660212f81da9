"""Errors raised by KV namespaces and stores.

Exception tree::

    KVError                 a KV operation failed; ``status`` is the HTTP status it maps to
    StoreUnavailable        raised by a store backend when it cannot reach its storage;
                            ``KVNamespace`` turns it into a 503 ``KVError``
    StoreCorrupt            the quick check found a damaged store file
    BulkFileError           a ``kv bulk`` file is malformed (a ``ValueError``); lists every bad item

Validation errors that Workers KV reports as ``TypeError`` (empty key, ``.``/``..``,
bad value type, unknown response type) are plain ``TypeError`` here too.
"""

from __future__ import annotations


class KVError(Exception):
    """A KV operation failed.

    ``str(err)`` is the Workers KV message, for example
    ``KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.``
    """

    def __init__(self, operation: str, status: int, detail: str) -> None:
        self.operation = operation
        self.status = status
        self.detail = detail
        super().__init__(f"KV {operation} failed: {status} {detail}")


class StoreUnavailable(Exception):
    """A backend cannot reach its storage (Redis down, file unreadable)."""


class StoreCorrupt(Exception):
    """A store's quick check failed: the file is damaged or not a KV store."""


class BulkFileError(ValueError):
    """A bulk file (``edgeworks kv bulk``) is malformed; nothing was written.

    ``problems`` lists every bad item (``"item 3 (key 'a'): ..."``); ``str(err)`` is a
    header line followed by one indented line per problem.
    """

    def __init__(self, message: str, problems: list[str] | tuple[str, ...] = ()) -> None:
        self.problems = list(problems)
        super().__init__("\n".join([message, *(f"  {p}" for p in self.problems)]))
