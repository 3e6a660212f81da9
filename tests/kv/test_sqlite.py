"""SQLite-store specifics: URLs, crash safety, several processes on one file, corrupt
and locked files, the list index plan, expiry reclamation, streaming snapshots.

The behaviour every store shares is in the contract suite (``test_contract*.py``).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import gc
import os
import signal
import sqlite3
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from kv import KVError, KVNamespace, StoreCorrupt, StoreUnavailable, open_store
from kv.backends import Entry, WriteOp
from kv.backends import _sqlite_db as db
from kv.backends._sqlite_writer import Writer
from kv.backends.sqlite import SQLiteStore
from kv.limits import SQLITE_BLOB_WRITE_BYTES
from tests.support import REPO_ROOT, Proc, wait_until

NOW = 1_700_000_000.0


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _run_script(tmp_path: Path, name: str, source: str, *args: str) -> Proc:
    script = tmp_path / f"{name}.py"
    script.write_text(textwrap.dedent(source))
    return Proc(
        [sys.executable, str(script), *args],
        env={"PYTHONPATH": str(REPO_ROOT)},
    )


# --- URLs and lazy opening -------------------------------------------------------------


def test_sqlite_url_path_is_absolute_and_options_parse(tmp_path: Path) -> None:
    store = SQLiteStore.from_url(f"sqlite://{tmp_path}/a%20b #1/kv.sqlite3?synchronous=FULL")
    assert store.path == tmp_path / "a%20b #1" / "kv.sqlite3"  # literal, as pasted
    assert store.synchronous == "full"
    # By URL rules the path after the third slash is absolute: documented in docs/kv.md.
    assert SQLiteStore.from_url("sqlite:///relative/kv.sqlite3").path == Path(
        "/relative/kv.sqlite3"
    )
    assert SQLiteStore.from_url("sqlite:///x.db?timeout=0.5").busy_timeout == 0.5
    assert SQLiteStore.from_url("sqlite:///x.db").synchronous == "normal"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///x.db?synchronous=off", "allowed normal, full"),
        ("sqlite:///x.db?journal=wal", "allowed synchronous, timeout"),
        ("sqlite:///x.db?timeout=soon", "seconds"),
        ("sqlite://host/x.db", "three slashes"),
        ("sqlite:///", "names no file"),
    ],
)
def test_sqlite_url_errors_say_what_is_allowed(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SQLiteStore.from_url(url)


async def test_sqlite_open_does_no_io_until_first_use(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state" / "kv.sqlite3"
    store = open_store(f"sqlite://{path}")
    assert not path.parent.exists()
    await store.put("ns", "k", b"v", None, None)
    assert path.exists()
    with _raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == db.APPLICATION_ID
    await store.aclose()


async def test_sqlite_put_is_durable_across_reopen_and_closed_store_refuses(
    tmp_path: Path,
) -> None:
    url = f"sqlite://{tmp_path}/kv.sqlite3?synchronous=full"
    async with open_store(url) as store:
        await store.put("ns", "k", bytearray(b"value"), NOW + 100, '{"m":1}')
    async with open_store(url) as again:
        entry = await again.get("ns", "k", NOW)
        assert entry is not None
        assert (entry.value, entry.expiration, entry.metadata) == (b"value", NOW + 100, '{"m":1}')
    with pytest.raises(StoreUnavailable, match="closed"):
        await again.get("ns", "k", NOW)


# --- crash safety and several processes ---------------------------------------------------

CRASH_WRITER = """
    import asyncio, sys
    from kv import KVNamespace, open_store

    def value(i, r):
        return f"{i}:{r}:" + "x" * ((i * 7919 + r * 104729) % 4096)

    async def main(url):
        ns = KVNamespace(open_store(url), "crash")

        async def put(i, r):
            await ns.put(f"key-{i}", value(i, r))
            sys.stdout.write(f"{i} {r}\\n")
            sys.stdout.flush()

        r = 0
        while True:  # until the test kills us
            await asyncio.gather(*(put(i, r) for i in range(1000)))
            r += 1

    asyncio.run(main(sys.argv[1]))
"""


def _crash_value(i: int, r: int) -> str:
    return f"{i}:{r}:" + "x" * ((i * 7919 + r * 104729) % 4096)


async def test_sqlite_sigkill_mid_write_keeps_every_acknowledged_put(tmp_path: Path) -> None:
    path = tmp_path / "kv.sqlite3"
    proc = _run_script(tmp_path, "crash_writer", CRASH_WRITER, f"sqlite://{path}")
    try:
        assert wait_until(lambda: len(proc.lines) >= 1500, timeout=30), proc.output
        proc.signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    finally:
        proc.stop()
    acked: dict[int, int] = {}
    for line in proc.lines:
        if line.endswith("\n"):
            i, r = map(int, line.split())
            acked[i] = max(r, acked.get(i, -1))
    assert len(acked) == 1000  # round 0 finished, round 1 was cut midway
    with _raw(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    async with open_store(f"sqlite://{path}") as store:
        ns = KVNamespace(store, "crash", clock=lambda: NOW)
        for i, r in acked.items():
            stored = await ns.get(f"key-{i}")
            # The acknowledged round, or the next one if its put committed but was
            # not printed before the kill: never an older, missing or torn value.
            assert stored in (_crash_value(i, r), _crash_value(i, r + 1)), (i, r)


SHARED_WRITER = """
    import asyncio, sys
    from kv import open_store
    from kv.backends import WriteOp

    async def main(url, me, rounds):
        store = open_store(url)
        errors = ops = 0
        for n in range(rounds):
            try:
                if n % 10 == 0:  # a longer transaction that holds the lock a while
                    batch = [WriteOp(f"{me}-batch-{k}", b"b" * 512) for k in range(300)]
                    await store.write_batch("shared", batch)
                else:
                    await store.put("shared", f"{me}-{n}", f"{me}:{n}".encode(), None, None)
                    await store.put("shared", "hot", me.encode(), None, None)
                await store.get("shared", "hot", 0.0)
                await store.list_keys("shared", "", None, 50, 0.0)
                ops += 1
            except Exception as exc:
                errors += 1
                print("error", type(exc).__name__, exc, flush=True)
        await store.aclose()
        print(f"done errors={errors} ops={ops}", flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def test_sqlite_two_processes_share_one_file_without_lock_errors(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    url = f"sqlite://{path}"
    # Both start on a missing file, so they also race to create it and switch it to WAL.
    procs = [_run_script(tmp_path, f"w{me}", SHARED_WRITER, url, me, "300") for me in "ab"]
    try:
        for proc in procs:
            match = proc.wait_for(r"done errors=(\d+) ops=(\d+)", timeout=60)
            assert (match[1], match[2]) == ("0", "300"), proc.output
            assert "locked" not in proc.output
    finally:
        for proc in procs:
            proc.stop()
    async with open_store(url) as store:
        wanted = ["a-1", "b-1", "a-299", "b-299", "a-batch-0", "b-batch-299", "hot"]
        assert None not in await store.get_many("shared", wanted, NOW)


async def test_sqlite_write_waiting_for_a_lock_never_stalls_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "kv.sqlite3"
    store = SQLiteStore(path, busy_timeout=10)
    await store.put("ns", "k", b"old", None, None)
    other = _raw(path)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        writing = asyncio.create_task(store.put("ns", "k", b"new", None, None))
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0.005)
            ticks += 1
            entry = await store.get("ns", "k", NOW)  # reads run inline meanwhile
            assert entry is not None and entry.value == b"old"
        assert not writing.done() and ticks == 20
    finally:
        other.execute("ROLLBACK")
        other.close()
    await writing
    entry = await store.get("ns", "k", NOW)
    assert entry is not None and entry.value == b"new"
    await store.aclose()


async def test_sqlite_lock_held_beyond_busy_timeout_is_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "kv.sqlite3"
    store = SQLiteStore(path, busy_timeout=0.2)
    await store.put("ns", "k", b"v", None, None)
    other = _raw(path)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable, match=r"locked .* more than 0.2 s"):
            await store.put("ns", "k", b"w", None, None)
        with pytest.raises(StoreUnavailable, match=str(path)):
            await store.check()
        entry = await store.get("ns", "k", NOW)  # readers are not blocked
        assert entry is not None and entry.value == b"v"
    finally:
        other.execute("ROLLBACK")
        other.close()
    await store.put("ns", "k", b"w", None, None)  # and the store recovers
    await store.check()
    await store.aclose()


async def test_sqlite_full_disk_fails_writes_with_503_and_recovers(tmp_path: Path) -> None:
    """Disk full, simulated with max_page_count: writes fail, reads go on, nothing breaks."""
    path = tmp_path / "kv.sqlite3"
    async with SQLiteStore(path) as store:
        ns = KVNamespace(store, "ns", clock=lambda: NOW)
        await ns.put("before", "kept")
        pages = await store._writer.run(
            lambda conn: conn.execute("PRAGMA page_count").fetchone()[0], transaction=False
        )
        await store._writer.run(
            lambda conn: conn.execute(f"PRAGMA max_page_count = {pages}"), transaction=False
        )
        with pytest.raises(KVError, match="503 Store unavailable") as caught:
            await ns.put("big", b"x" * 200_000)
        assert caught.value.status == 503
        assert await ns.get("before") == "kept"
        await store._writer.run(
            lambda conn: conn.execute("PRAGMA max_page_count = 1000000"), transaction=False
        )
        await ns.put("big", b"x" * 200_000)
        assert await ns.get("big", "bytes") == b"x" * 200_000
    with _raw(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_sqlite_full_disk_inside_a_group_fails_with_503_not_a_savepoint_error(
    tmp_path: Path,
) -> None:
    async with SQLiteStore(tmp_path / "kv.sqlite3") as store:
        await store.put("ns", "before", b"kept", None, None)
        pages = await store._writer.run(
            lambda conn: conn.execute("PRAGMA page_count").fetchone()[0], transaction=False
        )
        await store._writer.run(
            lambda conn: conn.execute(f"PRAGMA max_page_count = {pages + 2}"), transaction=False
        )
        gate = threading.Event()
        blocker = store._writer.submit(lambda conn: gate.wait(), transaction=False)
        small = store.put("ns", "small", b"s", None, None)
        big = store.put("ns", "big", b"x" * 300_000, None, None)
        waiting = asyncio.gather(small, big, return_exceptions=True)
        while store._writer._queue.qsize() < 2:
            await asyncio.sleep(0)
        gate.set()
        small_result, big_result = await waiting
        blocker.result()
        assert isinstance(big_result, StoreUnavailable), big_result
        assert "full" in str(big_result)
        # SQLite rolls back the failing statement or the whole transaction: either the
        # small put committed, or it failed with the same clear cause.
        stored = await store.get("ns", "small", NOW)
        if small_result is None:
            assert stored is not None and stored.value == b"s"
        else:
            assert isinstance(small_result, StoreUnavailable) and stored is None
        entry = await store.get("ns", "before", NOW)
        assert entry is not None and entry.value == b"kept"


# --- corrupt files ------------------------------------------------------------------------


async def _filled(path: Path, count: int = 2000) -> None:
    async with SQLiteStore(path) as store:
        ops = [WriteOp(f"key-{i:05}", b"v" * 200) for i in range(count)]
        await store.write_batch("ns", ops)
        await store.check()
    with _raw(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def test_sqlite_check_reports_scribbled_pages_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "kv.sqlite3"
    await _filled(path)
    with path.open("r+b") as file:  # keep the header (page 1), damage the b-tree pages
        file.seek(4096 * 2)
        file.write(os.urandom(4096 * 20))
    store = SQLiteStore(path)
    with pytest.raises(StoreCorrupt, match=str(path)):
        await store.check()
    await store.aclose()


@pytest.mark.parametrize("garbage", [b"not a database at all " * 300, os.urandom(8192)])
async def test_sqlite_check_reports_a_file_that_is_not_sqlite(
    tmp_path: Path, garbage: bytes
) -> None:
    path = tmp_path / "kv.sqlite3"
    path.write_bytes(garbage)
    store = SQLiteStore(path)
    with pytest.raises(StoreCorrupt, match=rf"{path} is damaged or not a SQLite database"):
        await store.check()
    with pytest.raises(StoreCorrupt):  # every operation says so, nothing is recreated
        await store.get("ns", "k", NOW)
    await store.aclose()
    assert path.read_bytes() == garbage


async def test_sqlite_refuses_a_database_that_is_not_a_kv_store(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with _raw(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    store = SQLiteStore(path)
    with pytest.raises(StoreCorrupt, match="not an edgeworks KV store"):
        await store.check()
    await store.aclose()


# --- list: index plan and expired rows ----------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "start_after"),
    [(b"", None), (b"user/", None), (b"user/", b"user/0042"), (b"\xff\xff", b"\xff\xff\xff")],
)
def test_sqlite_list_page_is_a_primary_key_range_not_a_scan(
    tmp_path: Path, prefix: bytes, start_after: bytes | None
) -> None:
    with _raw(tmp_path / "plan.sqlite3") as conn:
        for statement in db.SCHEMA.split(";"):
            conn.execute(statement)
        sql, params = db.list_query("ns", prefix, start_after, 1000, NOW)
        plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
    assert plan.startswith("SEARCH kv USING INDEX sqlite_autoindex_kv_1 (ns=? AND key>"), plan
    assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        (db.GET, (1024, "ns", b"k")),
        (db.get_many_sql(3), (1024, "ns", b"a", b"b", b"c")),
        (db.DELETE_EXPIRED, ("ns", b"k", NOW)),
        (db.SWEEP, ("ns", NOW, 1000)),
        (db.NEXT_NAMESPACE, ("",)),
        (db.DROP_NAMESPACE_KEYS, ("ns",)),
    ],
)
def test_sqlite_every_statement_seeks_an_index(
    tmp_path: Path, sql: str, params: tuple[object, ...]
) -> None:
    with _raw(tmp_path / "plan.sqlite3") as conn:
        for statement in db.SCHEMA.split(";"):
            conn.execute(statement)
        plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
    assert "SEARCH kv USING" in plan and "SCAN" not in plan, plan


def test_sqlite_prefix_upper_bound_is_computed_on_bytes() -> None:
    assert db.prefix_upper_bound(b"a/") == b"a0"
    assert db.prefix_upper_bound("é".encode()) == b"\xc3\xaa"
    assert db.prefix_upper_bound(b"a\xff\xff") == b"b"
    assert db.prefix_upper_bound(b"\xff") is None
    assert db.prefix_upper_bound(b"") is None


async def test_sqlite_list_fills_a_page_past_expired_rows(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "kv.sqlite3") as store:
        ops = [
            WriteOp(f"k{i:04}", b"v", expiration=None if i % 10 == 0 else NOW + 60)
            for i in range(1000)
        ]
        await store.write_batch("ns", ops)
        page = await store.list_keys("ns", "k", None, 20, NOW + 60)  # 9 of 10 expired
        assert [info.name for info in page] == [f"k{i:04}" for i in range(0, 200, 10)]
        rest = await store.list_keys("ns", "k", page[-1].name, 1000, NOW + 60)
        assert len(rest) == 80


# --- expiry reclamation -------------------------------------------------------------------


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _rows(store: SQLiteStore) -> int:
    with _raw(store.path) as conn:
        count: int = conn.execute("SELECT count(*) FROM kv").fetchone()[0]
        return count


async def _settle(store: SQLiteStore) -> None:
    """Wait for queued background work: the writer thread runs jobs in order."""
    await store._writer.run(lambda conn: None)


async def test_sqlite_expired_rows_are_reclaimed_lazily_and_by_sweep(tmp_path: Path) -> None:
    ticker = Ticker()
    store = SQLiteStore(
        tmp_path / "kv.sqlite3", sweep_interval=60, sweep_batch=50, monotonic=ticker
    )
    ops = [WriteOp(f"old-{i:03}", b"v", expiration=NOW + 100) for i in range(120)]
    ops += [WriteOp(f"live-{i:03}", b"v", expiration=NOW + 500) for i in range(30)]
    await store.write_batch("ns", ops)
    # A read that finds an expired row deletes it in the background.
    assert await store.get("ns", "old-000", NOW + 100) is None
    await _settle(store)
    assert await _rows(store) == 149
    # The sweep uses the namespace's own clock (here NOW + 100, from the read above)
    # and removes at most sweep_batch rows each time; live rows always stay.
    ticker.now = 61
    await store.get("ns", "live-000", NOW + 100)
    await _settle(store)
    assert await _rows(store) == 99
    ticker.now = 62  # a full batch: the next sweep is due at once
    await store.get("ns", "live-000", NOW + 100)
    await _settle(store)
    assert await _rows(store) == 49
    ticker.now = 63
    await store.get("ns", "live-000", NOW + 100)
    await _settle(store)
    assert await _rows(store) == 30
    names = [info.name for info in await store.list_keys("ns", "", None, 1000, NOW + 100)]
    assert names == [f"live-{i:03}" for i in range(30)]
    await store.aclose()


async def test_sqlite_reclaim_never_drops_a_rewritten_live_entry(tmp_path: Path) -> None:
    path = tmp_path / "kv.sqlite3"
    async with SQLiteStore(path) as store:
        await store.put("ns", "k", b"old", NOW + 60, None)
        other = _raw(path)
        other.execute("BEGIN IMMEDIATE")  # the reclaim will wait for this lock
        assert await store.get("ns", "k", NOW + 60) is None  # queues a reclaim
        other.execute(db.UPSERT, ("ns", b"k", NOW + 600, None, b"new"))  # another process
        other.execute("COMMIT")
        other.close()
        await _settle(store)
        entry = await store.get("ns", "k", NOW + 60)
        assert entry is not None and entry.value == b"new"


# --- batches, large values, streams ---------------------------------------------------------


async def test_sqlite_write_batch_is_one_transaction_in_order(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "kv.sqlite3") as store:
        await store.write_batch(
            "ns",
            [WriteOp("a", b"1"), WriteOp("a", None), WriteOp("b", b"2"), WriteOp("a", b"3")],
        )
        entries = await store.get_many("ns", ["a", "b"], NOW)
        assert [entry.value if entry else None for entry in entries] == [b"3", b"2"]
        bad = [WriteOp("c", b"1"), WriteOp("d", b"2", metadata=object())]  # type: ignore[arg-type]
        with pytest.raises(sqlite3.Error):
            await store.write_batch("ns", bad)
        assert await store.get("ns", "c", NOW) is None  # all or nothing
        many = [WriteOp(f"bulk-{i:05}", b"x" * 100) for i in range(10_000)]
        await store.write_batch("bulk", many)
        assert await _rows(store) == 2 + 10_000


async def test_sqlite_queued_writes_commit_together_and_fail_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups: list[int] = []
    commit = Writer._commit

    def counting(self: Writer, group: list[Any]) -> None:
        if group:
            groups.append(len(group))
        commit(self, group)

    monkeypatch.setattr(Writer, "_commit", counting)
    async with SQLiteStore(tmp_path / "kv.sqlite3") as store:
        await store.create_namespace("ns")
        gate = threading.Event()
        blocker = store._writer.submit(lambda conn: gate.wait(), transaction=False)
        puts = [store.put("ns", f"k{i}", b"v", None, None) for i in range(50)]
        bad = store.write_batch("ns", [WriteOp("x", b"1"), WriteOp("y", b"2", metadata=object())])  # type: ignore[arg-type]
        waiting = asyncio.gather(*puts, bad, return_exceptions=True)
        while store._writer._queue.qsize() < 51:  # every write queues behind the blocker
            await asyncio.sleep(0)
        gate.set()
        results = await waiting
        blocker.result()
        assert results[:50] == [None] * 50
        assert isinstance(results[50], sqlite3.Error)  # only the failing batch failed
        assert groups[-1] == 51  # one transaction for all of them
        assert len(await store.list_keys("ns", "k", None, 1000, NOW)) == 50
        assert await store.get_many("ns", ["x", "y"], NOW) == [None, None]


async def test_sqlite_put_cancelled_before_it_starts_writes_nothing(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "kv.sqlite3") as store:
        await store.create_namespace("ns")
        gate = threading.Event()
        blocker = store._writer.submit(lambda conn: gate.wait(), transaction=False)
        cancelled = asyncio.create_task(store.put("ns", "gone", b"v", None, None))
        kept = asyncio.create_task(store.put("ns", "kept", b"v", None, None))
        while store._writer._queue.qsize() < 2:
            await asyncio.sleep(0)
        cancelled.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await cancelled  # by now the cancellation reached the queued job
        gate.set()
        await kept
        blocker.result()
        assert cancelled.cancelled()
        assert await store.get("ns", "gone", NOW) is None
        assert await store.get("ns", "kept", NOW) is not None


async def test_sqlite_large_values_are_written_in_chunks_in_order(tmp_path: Path) -> None:
    large = os.urandom(SQLITE_BLOB_WRITE_BYTES + 3)
    wide = array.array("I", range(300_000))  # a view of 4-byte items: stored as its bytes
    async with SQLiteStore(tmp_path / "kv.sqlite3") as store:
        await store.put("ns", "wide", memoryview(wide), None, None)
        entry = await store.get("ns", "wide", NOW)
        assert entry is not None and entry.value == wide.tobytes()
        await store.write_batch(
            "ns",
            [
                WriteOp("a", b"small"),
                WriteOp("a", large, expiration=NOW + 100, metadata='{"big":true}'),
                WriteOp("b", large),
                WriteOp("b", b"small again"),
            ],
        )
        a, b = await store.get_many("ns", ["a", "b"], NOW)
        assert a == Entry(large, NOW + 100, '{"big":true}')
        assert b is not None and b.value == b"small again"
        # A large value is read through a blob handle, and expiry still applies.
        assert await store.get("ns", "a", NOW) == a
        assert await store.get("ns", "a", NOW + 100) is None
        assert await store.get_many("ns", ["a", "b"], NOW + 100) == [None, b]


async def test_sqlite_stream_reads_one_version_while_the_key_is_rewritten(tmp_path: Path) -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)
    async with SQLiteStore(tmp_path / "kv.sqlite3") as store:
        await store.put("ns", "big", memoryview(big), None, '{"v":1}')
        found = await store.stream("ns", "big", NOW, 64 * 1024)
        assert found is not None and found.size == len(big) and found.metadata == '{"v":1}'
        first = await anext(found.chunks)
        await store.put("ns", "big", b"small now", None, None)
        # A plain read sees the new value at once: the stream does not pin the reader.
        entry = await store.get("ns", "big", NOW)
        assert entry is not None and entry.value == b"small now"
        rest = [chunk async for chunk in found.chunks]
        assert all(len(chunk) <= 64 * 1024 for chunk in rest)
        assert first + b"".join(rest) == big
        # An abandoned stream gives its connection back.
        await store.put("ns", "big", memoryview(big), None, None)
        again = await store.stream("ns", "big", NOW, 64 * 1024)
        assert again is not None
        await anext(again.chunks)
        await again.chunks.aclose()  # type: ignore[attr-defined]
        small = await store.stream("ns", "missing", NOW, 64 * 1024)
        assert small is None


async def test_sqlite_holds_a_25_mib_value(tmp_path: Path) -> None:
    value = bytearray(os.urandom(1024)) * (25 * 1024)
    async with SQLiteStore(tmp_path / "kv.sqlite3") as store:
        ns = KVNamespace(store, "ns", clock=lambda: NOW)
        await ns.put("max", value)
        assert await ns.get("max", "bytes") == value
        chunks = [chunk async for chunk in await ns.get("max", "stream")]
        assert len(chunks) > 1 and b"".join(chunks) == value


async def test_sqlite_store_dropped_without_aclose_stops_its_writer_thread(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "kv.sqlite3")
    await store.put("ns", "k", b"v", None, None)
    name = f"edgeworks-sqlite-writer {store.url}"

    def writers() -> list[threading.Thread]:
        return [thread for thread in threading.enumerate() if thread.name == name]

    assert len(writers()) == 1
    del store
    gc.collect()
    assert wait_until(lambda: not writers(), timeout=5)


# --- processes --------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
async def test_sqlite_fork_child_opens_its_own_connections(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "kv.sqlite3")
    await store.put("ns", "parent", b"1", None, None)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            asyncio.run(store.put("ns", "child", b"2", None, None))
            code = 0
        finally:
            os._exit(code)
    statuses: list[int] = []

    def child_exited() -> bool:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            statuses.append(status)
        return bool(statuses)

    if not wait_until(child_exited, timeout=20):  # never hang the suite on a stuck child
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child did not finish its put within 20 s")
    assert os.waitstatus_to_exitcode(statuses[0]) == 0
    entry = await store.get("ns", "child", NOW)
    assert entry is not None and entry.value == b"2"
    await store.put("ns", "parent", b"3", None, None)  # the parent's writer still works
    await store.aclose()
