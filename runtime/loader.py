"""Load a worker module by path: ``load_worker(path) -> LoadedWorker``.

The worker is imported under a unique module name (``_edgeworks_worker_<n>_<stem>``),
so two loads of one file (a reload in dev) are independent modules and never
share globals. The handler's arity (1, 2 or 3 of ``request, env, ctx``) is
inspected once here, not per request.

Every failure is a :class:`~runtime.errors.WorkerLoadError` whose message starts
with ``file:line`` and says what is allowed:

- a syntax error: the file and line of the error;
- an exception while importing: the deepest frame inside the project folder
  (the worker's folder, or ``project_root``), so an error raised in a helper
  module the worker imports points at that helper;
- no ``handle_request``, a non-async one, or one taking 0 or more than 3
  parameters: the worker file (and the ``def`` line when there is one); the
  same for the optional ``scheduled`` and ``queue`` handlers.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import sys
import traceback
import types
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.errors import WorkerLoadError
from runtime.limits import (
    EDGEWORKS_TOP_LEVEL,
    MSG_HANDLER_ARITY,
    MSG_HANDLER_MISSING,
    MSG_HANDLER_NOT_ASYNC,
    MSG_MODULE_SHADOWED,
    MSG_QUEUE_ARITY,
    MSG_QUEUE_NOT_ASYNC,
    MSG_SCHEDULED_ARITY,
    MSG_SCHEDULED_NOT_ASYNC,
    MSG_WORKER_IMPORT_FAILED,
    MSG_WORKER_NOT_FOUND,
    WORKER_MODULE_PREFIX,
)

__all__ = ["LoadedWorker", "load_worker"]

Handler = Callable[..., Coroutine[Any, Any, Any]]

_counter = itertools.count(1)
# The folder that holds edgeworks' top-level packages (site-packages, or a checkout).
_EDGEWORKS_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class LoadedWorker:
    """A worker module ready to serve.

    ``arity`` is how many of ``(request, env, ctx)`` ``handle_request`` takes;
    ``scheduled`` is the optional cron handler, taking ``scheduled_arity`` of
    ``(event, env, ctx)``; ``queue`` the optional queue consumer, taking
    ``queue_arity`` of ``(batch, env, ctx)``.
    """

    path: Path
    module: types.ModuleType
    handle_request: Handler
    arity: int
    scheduled: Handler | None = None
    scheduled_arity: int = 3
    queue: Handler | None = None
    queue_arity: int = 3

    @property
    def module_name(self) -> str:
        return self.module.__name__

    def bind_globals(self, bindings: Mapping[str, object]) -> None:
        """Set the bindings as module globals (service-worker style, 1-parameter handlers).

        Called by the host whenever the env of this worker changes.
        """
        if self.arity == 1:
            vars(self.module).update(bindings)


def load_worker(
    path: str | Path,
    *,
    module_name: str | None = None,
    project_root: str | Path | None = None,
) -> LoadedWorker:
    """Import the worker at ``path`` and check its contract.

    ``module_name`` defaults to a fresh unique name; ``project_root`` (default:
    the worker's folder) is put on ``sys.path`` so the worker can import its
    sibling modules, and bounds which frames count as "the worker's code" in
    import errors.

    >>> worker = load_worker("worker.py")
    >>> worker.arity
    3
    """
    file = Path(path).resolve()
    root = Path(project_root).resolve() if project_root is not None else file.parent
    if not file.is_file():
        raise WorkerLoadError(MSG_WORKER_NOT_FOUND.format(file=file), filename=str(file))
    _refuse_shadowed_modules(root)
    name = module_name or f"{WORKER_MODULE_PREFIX}{next(_counter)}_{_identifier(file.stem)}"
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    module = _import(file, name, root)
    handler = getattr(module, "handle_request", None)
    if handler is None:
        raise WorkerLoadError(MSG_HANDLER_MISSING.format(file=file), filename=str(file))
    arity = _arity(file, handler, MSG_HANDLER_NOT_ASYNC, MSG_HANDLER_ARITY)
    scheduled = getattr(module, "scheduled", None)
    scheduled_arity = 3
    if scheduled is not None:
        scheduled_arity = _arity(file, scheduled, MSG_SCHEDULED_NOT_ASYNC, MSG_SCHEDULED_ARITY)
    queue = getattr(module, "queue", None)
    if inspect.ismodule(queue):
        queue = None  # ``import queue`` (the standard library's), not a consumer
    queue_arity = 3
    if queue is not None:
        queue_arity = _arity(file, queue, MSG_QUEUE_NOT_ASYNC, MSG_QUEUE_ARITY)
    return LoadedWorker(
        path=file,
        module=module,
        handle_request=handler,
        arity=arity,
        scheduled=scheduled,
        scheduled_arity=scheduled_arity,
        queue=queue,
        queue_arity=queue_arity,
    )


def _refuse_shadowed_modules(root: Path) -> None:
    """Refuse a project module named like one of edgeworks' top-level packages.

    ``root`` goes on ``sys.path``, but edgeworks' packages are imported already
    (or will be, by edgeworks itself): a project's own ``kv.py`` would silently
    be edgeworks' ``kv``, in serve and on every dev reload, or worse, stand in
    for it. A loud error at load beats a confusing one later.
    """
    if root == _EDGEWORKS_ROOT:
        return  # a project inside edgeworks' own checkout: these are our packages
    for name in EDGEWORKS_TOP_LEVEL:
        for candidate in (root / f"{name}.py", root / name / "__init__.py"):
            if candidate.is_file():
                raise WorkerLoadError(
                    MSG_MODULE_SHADOWED.format(file=candidate, name=name),
                    filename=str(candidate),
                )


def _import(file: Path, name: str, root: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:  # pragma: no cover - only for odd suffixes
        raise WorkerLoadError(MSG_WORKER_NOT_FOUND.format(file=file), filename=str(file))
    module = importlib.util.module_from_spec(spec)
    # Registered before running so dataclasses, pickling and typing can find the module.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        where = exc.filename or str(file)
        lineno = exc.lineno or 0
        raise WorkerLoadError(
            MSG_WORKER_IMPORT_FAILED.format(
                file=where, line=lineno, error=f"SyntaxError: {exc.msg}"
            ),
            filename=where,
            lineno=lineno,
        ) from exc
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        where, lineno = _project_frame(exc, file, root)
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        raise WorkerLoadError(
            MSG_WORKER_IMPORT_FAILED.format(file=where, line=lineno, error=error),
            filename=where,
            lineno=lineno,
        ) from exc
    return module


def _project_frame(exc: BaseException, file: Path, root: Path) -> tuple[str, int]:
    """The deepest traceback frame in a file under ``root`` (default: the worker file)."""
    where, lineno = str(file), 0
    for frame, line in traceback.walk_tb(exc.__traceback__):
        candidate = Path(frame.f_code.co_filename)
        if candidate.is_absolute() and candidate.is_relative_to(root) and candidate.exists():
            where, lineno = str(candidate), line
    return where, lineno


def _arity(file: Path, handler: object, not_async: str, bad_arity: str) -> int:
    """How many of the three positional arguments ``handler`` takes (1-3)."""
    line = _def_line(handler)
    if not inspect.iscoroutinefunction(handler):
        raise WorkerLoadError(
            not_async.format(file=file, line=line), filename=str(file), lineno=line
        )
    params = inspect.signature(handler).parameters.values()
    positional = [
        p
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return 3
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    arity = min(len(positional), 3)
    if arity < 1 or len(required) > 3:
        raise WorkerLoadError(
            bad_arity.format(file=file, line=line, count=len(positional)),
            filename=str(file),
            lineno=line,
        )
    return arity


def _def_line(func: object) -> int:
    code = getattr(func, "__code__", None)
    return int(code.co_firstlineno) if code is not None else 0


def _identifier(stem: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in stem)
