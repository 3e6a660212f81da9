"""How `edgeworks dev` sees changes and groups bursts of them into reloads.

- :class:`ChangeBatcher` turns a stream of classified changes (``runtime.dev.plan``)
  into reloads: a batch is due after a short quiet period for code and config,
  a longer one for the bucket, so that an editor's burst of saves, a ``git
  checkout`` or a build writing hundreds of files gives one reload.
- :class:`Watcher` runs watchfiles' notifier in a daemon thread (restarting it
  if it dies) and hands filtered change sets to the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from runtime.dev.plan import IGNORED_DIRS, ChangeKind, WatchPlan
from runtime.limits import (
    DEV_BUCKET_MAX_WAIT_MS,
    DEV_BUCKET_QUIET_MS,
    DEV_CODE_MAX_WAIT_MS,
    DEV_CODE_QUIET_MS,
    DEV_WATCH_DEBOUNCE_MS,
    DEV_WATCH_POLL_DELAY_MS,
    DEV_WATCH_POLL_MS,
    DEV_WATCH_RESTART_DELAY_MS,
    DEV_WATCH_STEP_MS,
)

logger = logging.getLogger("edgeworks.dev")


def _force_polling(flag: bool | None) -> bool:
    """Polling instead of OS events: the flag, else WATCHFILES_FORCE_POLLING, else on WSL."""
    if flag is not None:
        return flag
    env = os.environ.get("WATCHFILES_FORCE_POLLING")
    if env:
        return env.lower() not in {"false", "disable", "disabled", "0"}
    return "microsoft-standard" in platform.uname().release.lower()


def _poll_delay_ms() -> int:
    env = os.environ.get("WATCHFILES_POLL_DELAY_MS", "")
    return int(env) if env.isdigit() else DEV_WATCH_POLL_DELAY_MS


CHANGE_ADDED = 1  # watchfiles.Change.added


@dataclass
class Batch:
    """Changes to act on together: which kinds, and which paths (relative where possible)."""

    kinds: set[ChangeKind] = field(default_factory=set)
    paths: dict[ChangeKind, set[Path]] = field(default_factory=dict)

    def add(self, kind: ChangeKind, path: Path) -> None:
        """Record that ``path`` changed as ``kind``."""
        self.kinds.add(kind)
        self.paths.setdefault(kind, set()).add(path)

    def merge(self, other: Batch) -> None:
        """Add every change of ``other``."""
        for kind, paths in other.paths.items():
            for path in paths:
                self.add(kind, path)

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def describe(self, root: Path) -> str:
        """One line for the terminal: up to three changed paths per kind, relative to ``root``."""
        parts = []
        for kind in (ChangeKind.CODE, ChangeKind.CONFIG, ChangeKind.BUCKET):
            paths = sorted(self.paths.get(kind, ()))
            if not paths:
                continue
            names = [_relative(p, root) for p in paths[:3]]
            more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
            parts.append(f"{', '.join(names)}{more} changed")
        return "; ".join(parts) or "no change"


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


class ChangeBatcher:
    """Groups classified changes into batches; time comes from the caller (``now`` in seconds).

    Code and config changes after a quiet spell (no batch taken for
    ``code_quiet``) are due at once: a single save reloads without waiting.
    Otherwise a batch is due once no change arrived for a quiet period, or a
    maximum wait after its first change, whichever comes first: short for
    code and config (``code_quiet``/``code_max_wait``), longer for the bucket
    (``bucket_quiet``/``bucket_max_wait``). A burst of saves thus gives one
    reload for its first save and one for the rest. Everything pending rides
    along when a batch is taken.
    """

    def __init__(
        self,
        *,
        code_quiet: float = DEV_CODE_QUIET_MS / 1000,
        code_max_wait: float = DEV_CODE_MAX_WAIT_MS / 1000,
        bucket_quiet: float = DEV_BUCKET_QUIET_MS / 1000,
        bucket_max_wait: float = DEV_BUCKET_MAX_WAIT_MS / 1000,
    ) -> None:
        self._timing = {
            False: (code_quiet, code_max_wait),
            True: (bucket_quiet, bucket_max_wait),
        }
        self._pending = Batch()
        # is_bucket -> (first change, last change)
        self._times: dict[bool, tuple[float, float]] = {}
        self._last_taken: float | None = None

    def add(self, kind: ChangeKind, path: Path, now: float) -> None:
        """Record a change seen at ``now`` (seconds)."""
        self._pending.add(kind, path)
        group = kind is ChangeKind.BUCKET
        first, _last = self._times.get(group, (now, now))
        self._times[group] = (first, now)

    def deadline(self) -> float | None:
        """When the pending batch becomes due (``None``: nothing pending)."""
        if not self._times:
            return None
        due = []
        for group, (first, last) in self._times.items():
            quiet, max_wait = self._timing[group]
            idle = self._last_taken is None or first - self._last_taken >= quiet
            if not group and idle:
                due.append(first)  # leading edge: a lone save reloads at once
            else:
                due.append(min(last + quiet, first + max_wait))
        return min(due)

    def take_due(self, now: float) -> Batch | None:
        """The pending batch if it is due at ``now``."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return None
        batch, self._pending = self._pending, Batch()
        self._times.clear()
        self._last_taken = now
        return batch


class _Either:
    """Either event set: the stop check ``RustNotify.watch`` polls on every step."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)


class Watcher:
    """Watches a :class:`WatchPlan` in daemon threads and yields due batches in the loop.

    Two OS watchers: the project root without recursion, and its non-ignored
    sub-folders (plus an outside bucket) recursively; a new top-level folder
    restarts the second one to include it.

    >>> watcher = Watcher(plan); watcher.start()
    >>> batch = await watcher.next_batch()
    """

    def __init__(
        self,
        plan: WatchPlan,
        *,
        batcher: ChangeBatcher | None = None,
        clock: Callable[[], float] | None = None,
        force_polling: bool | None = None,
    ) -> None:
        self.plan = plan
        self.batcher = batcher or ChangeBatcher()
        self._clock = clock
        self._force_polling = force_polling
        self._stop = threading.Event()
        self._restart_deep = threading.Event()
        self._ready = {False: threading.Event(), True: threading.Event()}
        self._threads: list[threading.Thread] = []
        self._queue: asyncio.Queue[set[tuple[int, str]]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start the watcher threads (call from inside the running loop)."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        for recursive in (False, True):
            name = "edgeworks-watch-deep" if recursive else "edgeworks-watch-root"
            thread = threading.Thread(target=self._run, args=(recursive,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def wait_ready(self, timeout: float) -> bool:
        """Block until the OS watches are set up."""
        deadline = time.monotonic() + timeout
        return all(e.wait(max(0.0, deadline - time.monotonic())) for e in self._ready.values())

    @property
    def alive(self) -> bool:
        """Whether every watcher thread is running."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def stop(self) -> None:
        """Ask the threads to end; they notice within one ``DEV_WATCH_STEP_MS`` step."""
        self._stop.set()

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the threads to end after :meth:`stop`."""
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, recursive: bool) -> None:
        # watchfiles' RustNotify (its documented Rust backend) rather than watchfiles.watch:
        # readiness is known the moment the OS watches exist, not at the first yield.
        from watchfiles._rust_notify import RustNotify

        polling = _force_polling(self._force_polling)
        until = _Either(self._stop, self._restart_deep) if recursive else self._stop
        while not self._stop.is_set():
            paths = [str(p) for p in (self.plan.deep_roots() if recursive else [self.plan.root])]
            try:
                if not paths:  # nothing to watch recursively (yet)
                    self._ready[recursive].set()
                    while not until.is_set():
                        self._stop.wait(DEV_WATCH_POLL_MS / 1000)
                else:
                    with RustNotify(paths, False, polling, _poll_delay_ms(), recursive, True) as rn:
                        self._ready[recursive].set()
                        while not until.is_set():
                            raw = rn.watch(
                                DEV_WATCH_DEBOUNCE_MS, DEV_WATCH_STEP_MS, DEV_WATCH_POLL_MS, until
                            )
                            if isinstance(raw, set):
                                self._handle(raw, recursive)
                if recursive:
                    self._restart_deep.clear()
            except Exception:
                # A dead watcher would silently serve stale code: log loudly and start again.
                logger.exception("file watcher failed; restarting it")
                self._stop.wait(DEV_WATCH_RESTART_DELAY_MS / 1000)

    def _handle(self, raw: set[tuple[int, str]], recursive: bool) -> None:
        changes = {(int(c), p) for c, p in raw if self.plan.watch_filter(c, p)}
        if not recursive:
            # A folder appeared at the top (mkdir, git checkout, a rename): watch it too,
            # and count the files it already holds as changes.
            new = [
                Path(p)
                for c, p in raw
                if c == CHANGE_ADDED and Path(p).name not in IGNORED_DIRS and Path(p).is_dir()
            ]
            if new:
                self._restart_deep.set()
                for folder in new:
                    for file in folder.rglob("*"):
                        if self.plan.watch_filter(CHANGE_ADDED, str(file)):
                            changes.add((CHANGE_ADDED, str(file)))
        if changes:
            self._post(changes)

    def _post(self, changes: set[tuple[int, str]]) -> None:
        loop, queue = self._loop, self._queue
        if loop is None or queue is None or loop.is_closed():
            return
        # The loop may close between the check and the call.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(queue.put_nowait, changes)

    def _now(self) -> float:
        if self._clock is not None:
            return self._clock()
        assert self._loop is not None
        return self._loop.time()

    def feed(self, raw_paths: Iterable[str]) -> None:
        """Classify raw paths into the batcher (used by the thread's changes and by tests)."""
        now = self._now()
        for raw in raw_paths:
            kind = self.plan.classify(raw)
            if kind is not None:
                self.batcher.add(kind, Path(raw), now)

    async def next_batch(self) -> Batch:
        """Wait for the next due batch."""
        assert self._queue is not None, "call start() first"
        while True:
            batch = self.batcher.take_due(self._now())
            if batch is not None:
                return batch
            deadline = self.batcher.deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._now())
            try:
                changes = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                continue
            self.feed(path for _change, path in changes)
            # Drain what else is queued, so a burst split across watcher steps stays one batch.
            while not self._queue.empty():
                self.feed(path for _change, path in self._queue.get_nowait())
