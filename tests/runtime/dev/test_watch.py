"""The dev server's watch filter and change classification (runtime/dev/plan.py), debouncing and
watcher thread (runtime/dev/watch.py)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from runtime.dev.plan import ChangeKind, WatchPlan, is_ignored
from runtime.dev.watch import Batch, ChangeBatcher, Watcher

ROOT = Path("/proj")
PLAN = WatchPlan(
    root=ROOT,
    config_file=ROOT / "edgeworks.toml",
    dev_vars=ROOT / ".dev.vars",
    bucket=ROOT / "public",
)


@pytest.mark.parametrize(
    "path",
    [
        "/proj/.edgeworks/state/kv.sqlite3",
        "/proj/.edgeworks/state/worker.py",
        "/proj/.git/index",
        "/proj/.git/hooks/pre-commit.py",
        "/proj/__pycache__/worker.cpython-311.pyc",
        "/proj/pkg/__pycache__/mod.py",
        "/proj/.venv/lib/python3.11/site-packages/x.py",
        "/proj/node_modules/left-pad/index.py",
        "/proj/kv.sqlite3-wal",
        "/proj/kv.sqlite3-shm",
        "/proj/kv.sqlite3-journal",
        "/proj/server.log",
        "/proj/.worker.py.swp",
        "/proj/worker.py~",
        "/proj/.#worker.py",
        "/proj/4913",
        "/proj/worker.py.tmp",
        "/proj/public/.git/HEAD",
        "/proj/public/.edgeworks/x.html",
        "/proj/public/__pycache__/x.pyc",
        "/proj/public/node_modules/x.js",
        "/proj/public/index.html.swp",
        "/proj/README.md",
        "/elsewhere/worker.py",
    ],
)
def test_plan_ignores_noise(path: str) -> None:
    assert PLAN.classify(path) is None
    assert PLAN.watch_filter(None, path) is False


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/proj/worker.py", ChangeKind.CODE),
        ("/proj/lib/helpers.py", ChangeKind.CODE),
        ("/proj/edgeworks.toml", ChangeKind.CONFIG),
        ("/proj/.dev.vars", ChangeKind.CONFIG),
        ("/proj/public/index.html", ChangeKind.BUCKET),
        ("/proj/public/js/app.py", ChangeKind.BUCKET),
        ("/proj/public/css/site.css", ChangeKind.BUCKET),
    ],
)
def test_plan_classifies_changes(path: str, kind: ChangeKind) -> None:
    assert PLAN.classify(path) is kind


def test_plan_ignores_only_below_the_root() -> None:
    # A project that itself lives under a folder named like an ignored one still reloads.
    plan = WatchPlan(root=Path("/home/me/.venv/src/app"))
    assert plan.classify("/home/me/.venv/src/app/worker.py") is ChangeKind.CODE
    assert is_ignored(()) is True


def test_plan_watches_bucket_outside_root() -> None:
    plan = WatchPlan(root=ROOT, bucket=Path("/srv/site"))
    assert plan.roots() == [ROOT, Path("/srv/site")]
    assert PLAN.roots() == [ROOT]
    assert plan.classify("/srv/site/a.html") is ChangeKind.BUCKET
    assert any("site bucket" in line for line in plan.describe())


def _batcher() -> ChangeBatcher:
    return ChangeBatcher(code_quiet=0.08, code_max_wait=0.4, bucket_quiet=0.3, bucket_max_wait=2.0)


def test_batcher_lone_code_save_is_due_at_once() -> None:
    batcher = _batcher()
    assert batcher.take_due(0.0) is None
    batcher.add(ChangeKind.CODE, ROOT / "worker.py", 10.0)
    batch = batcher.take_due(10.0)
    assert batch is not None and batch.kinds == {ChangeKind.CODE}
    assert batcher.take_due(10.1) is None and batcher.deadline() is None
    # Long after, the next lone save is due at once again.
    batcher.add(ChangeKind.CONFIG, ROOT / "edgeworks.toml", 11.0)
    assert batcher.take_due(11.0) is not None


def test_batcher_burst_gives_leading_and_trailing_batch() -> None:
    batcher = _batcher()
    now, due = 0.0, []
    for _ in range(20):  # a save every 15 ms for 300 ms
        batcher.add(ChangeKind.CODE, ROOT / "worker.py", now)
        if batcher.take_due(now) is not None:
            due.append(round(now, 3))
        now += 0.015
    assert due == [0.0]
    assert batcher.take_due(now) is None  # still inside the quiet period
    last = now - 0.015
    assert batcher.take_due(last + 0.08) is not None
    assert batcher.deadline() is None


def test_batcher_endless_burst_is_capped_by_max_wait() -> None:
    batcher = _batcher()
    batcher.add(ChangeKind.CODE, ROOT / "a.py", 0.0)
    assert batcher.take_due(0.0) is not None
    now, due = 0.01, []
    while now < 1.0:  # a change every 10 ms never goes quiet
        batcher.add(ChangeKind.CODE, ROOT / "a.py", now)
        if batcher.take_due(now) is not None:
            due.append(now)
        now += 0.01
    assert len(due) == 2 and 0.40 <= due[0] <= 0.42


def test_batcher_bucket_waits_for_quiet_period() -> None:
    batcher = _batcher()
    batcher.add(ChangeKind.BUCKET, ROOT / "public/a.html", 0.0)
    batcher.add(ChangeKind.BUCKET, ROOT / "public/b.html", 0.2)
    assert batcher.take_due(0.4) is None  # 0.2 s since the last change
    batch = batcher.take_due(0.5)
    assert batch is not None
    assert batch.paths[ChangeKind.BUCKET] == {ROOT / "public/a.html", ROOT / "public/b.html"}


def test_batcher_bucket_burst_is_capped_by_max_wait() -> None:
    batcher = _batcher()
    now = 0.0
    due = []
    while now < 3.0:  # a change every 100 ms for 3 s never goes quiet
        batcher.add(ChangeKind.BUCKET, ROOT / f"public/{now:.1f}.html", now)
        batch = batcher.take_due(now)
        if batch is not None:
            due.append(now)
        now += 0.1
    assert len(due) == 1 and 1.9 <= due[0] <= 2.1


def test_batcher_bucket_rides_along_with_code() -> None:
    batcher = _batcher()
    batcher.add(ChangeKind.BUCKET, ROOT / "public/a.html", 0.0)
    batcher.add(ChangeKind.CODE, ROOT / "worker.py", 0.01)
    batch = batcher.take_due(0.01)
    assert batch is not None and batch.kinds == {ChangeKind.BUCKET, ChangeKind.CODE}


def test_batch_merge() -> None:
    a, b = Batch(), Batch()
    assert not a
    a.add(ChangeKind.CODE, ROOT / "x.py")
    b.add(ChangeKind.CONFIG, ROOT / "edgeworks.toml")
    a.merge(b)
    assert a.kinds == {ChangeKind.CODE, ChangeKind.CONFIG}


async def test_watcher_sees_real_changes_and_skips_noise(tmp_path: Path) -> None:
    (tmp_path / ".edgeworks").mkdir()
    (tmp_path / "__pycache__").mkdir()
    worker = tmp_path / "worker.py"
    worker.write_text("v = 1\n")
    watcher = Watcher(WatchPlan(root=tmp_path, config_file=tmp_path / "edgeworks.toml"))
    watcher.start()
    try:
        assert await asyncio.to_thread(watcher.wait_ready, 5.0)
        # Noise first: none of it may show up in the batch.
        (tmp_path / ".edgeworks" / "kv.sqlite3-wal").write_bytes(b"x")
        (tmp_path / "__pycache__" / "worker.cpython-311.pyc").write_bytes(b"x")
        (tmp_path / ".worker.py.swp").write_bytes(b"x")
        # An editor's atomic save: write a temporary file, rename it over the original.
        tmp = tmp_path / "worker.py.tmp"
        tmp.write_text("v = 2\n")
        os.replace(tmp, worker)
        batch = await asyncio.wait_for(watcher.next_batch(), 5.0)
        assert batch.kinds == {ChangeKind.CODE}
        assert batch.paths[ChangeKind.CODE] == {worker}
    finally:
        watcher.stop()
        await asyncio.to_thread(watcher.join, 5.0)


async def test_watcher_polling_mode_sees_changes(tmp_path: Path) -> None:
    # --poll / WATCHFILES_FORCE_POLLING: for network drives and bind mounts without inotify.
    (tmp_path / "pkg").mkdir()
    watcher = Watcher(WatchPlan(root=tmp_path), force_polling=True)
    watcher.start()
    try:
        assert await asyncio.to_thread(watcher.wait_ready, 5.0)
        (tmp_path / "pkg" / "mod.py").write_text("x = 1\n")
        batch = await asyncio.wait_for(watcher.next_batch(), 5.0)
        assert batch.paths[ChangeKind.CODE] == {tmp_path / "pkg" / "mod.py"}
    finally:
        watcher.stop()
        await asyncio.to_thread(watcher.join, 5.0)


async def test_watcher_restarts_after_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from watchfiles import _rust_notify

    import runtime.dev.watch as watch_module

    real = _rust_notify.RustNotify
    calls = []

    def flaky(*args: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("inotify watch limit reached")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_rust_notify, "RustNotify", flaky)
    monkeypatch.setattr(watch_module, "DEV_WATCH_RESTART_DELAY_MS", 10)
    watcher = Watcher(WatchPlan(root=tmp_path))
    watcher.start()
    try:
        assert await asyncio.to_thread(watcher.wait_ready, 5.0)
        (tmp_path / "worker.py").write_text("x = 1\n")
        batch = await asyncio.wait_for(watcher.next_batch(), 5.0)
        assert batch.kinds == {ChangeKind.CODE}
    finally:
        watcher.stop()
        await asyncio.to_thread(watcher.join, 5.0)
    assert len(calls) == 2
    assert "file watcher failed; restarting it" in caplog.text


def test_plan_deep_roots_skip_ignored_folders(tmp_path: Path) -> None:
    for name in ("lib", "public", ".venv", "node_modules", ".git", "__pycache__"):
        (tmp_path / name).mkdir()
    (tmp_path / "worker.py").write_text("")
    outside = tmp_path.parent / f"{tmp_path.name}-bucket"
    plan = WatchPlan(root=tmp_path, bucket=outside)
    assert plan.deep_roots() == [tmp_path / "lib", tmp_path / "public", outside]


async def test_watcher_picks_up_new_top_level_folders(tmp_path: Path) -> None:
    watcher = Watcher(WatchPlan(root=tmp_path))
    watcher.start()
    try:
        assert await asyncio.to_thread(watcher.wait_ready, 5.0)
        assert watcher.alive
        # A folder created after start, with a module already in it (e.g. git checkout).
        staged = tmp_path.parent / f"{tmp_path.name}-staged"
        (staged / "pkg").mkdir(parents=True)
        (staged / "pkg" / "a.py").write_text("x = 1\n")
        os.replace(staged / "pkg", tmp_path / "pkg")
        batch = await asyncio.wait_for(watcher.next_batch(), 5.0)
        assert batch.paths[ChangeKind.CODE] == {tmp_path / "pkg" / "a.py"}
        # ... and later edits inside it are seen by the restarted recursive watcher.
        for _ in range(100):
            (tmp_path / "pkg" / "b.py").write_text("y = 2\n")
            try:
                batch = await asyncio.wait_for(watcher.next_batch(), 0.3)
            except TimeoutError:
                continue
            if tmp_path / "pkg" / "b.py" in batch.paths.get(ChangeKind.CODE, set()):
                break
        else:
            raise AssertionError("edits in the new folder were never seen")
    finally:
        watcher.stop()
        await asyncio.to_thread(watcher.join, 5.0)
    assert not watcher.alive
