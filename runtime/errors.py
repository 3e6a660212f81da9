"""Errors of the runtime.

Exception tree::

    WorkerError              base; ``status`` is the HTTP status when it maps to a response
    ├── ConfigError          edgeworks.toml / .dev.vars / flags invalid (CLI exit code 2)
    ├── WorkerLoadError      the worker module cannot be loaded (file and line in the message)
    └── LimitExceeded        a request ran over a limit (cpu 503, wall 504, body 413, subrequests)
"""

from __future__ import annotations


class WorkerError(Exception):
    """Base class of runtime errors. ``status`` is the HTTP status to answer with."""

    status: int = 500


class ConfigError(WorkerError):
    """The configuration is invalid; the message names file, field, value and what is allowed."""

    status = 500


class WorkerLoadError(WorkerError):
    """The worker module failed to load; the message names the file and line."""

    status = 500

    def __init__(self, message: str, *, filename: str | None = None, lineno: int | None = None):
        super().__init__(message)
        self.filename = filename
        self.lineno = lineno
        #: the message says everything (e.g. "not supported"): shown without a traceback
        self.one_line = False


class LimitExceeded(WorkerError):
    """A request exceeded a runtime limit."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
