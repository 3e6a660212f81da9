"""First open of a SQLite store file by many processes at once (kv/backends/_sqlite_setup.py)."""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import sys
import textwrap
from pathlib import Path

import pytest

from kv import StoreUnavailable
from kv.backends import _sqlite_db as db
from kv.backends.sqlite import SQLiteStore
from tests.support import REPO_ROOT, Proc

PROCESSES = 8
FILES = 15

# Each process waits for the "go" file, then opens FILES fresh stores at once (one
# writer thread each), writes its own key into each and reads it back.
OPENER = """
    import asyncio, os, sys, time
    from kv import open_store

    async def one(folder, me, index):
        store = open_store(f"sqlite://{folder}/f{index}.sqlite3")
        try:
            await store.put("ns", me, me.encode(), None, None)
            entry = await store.get("ns", me, 0.0)
            assert entry is not None and entry.value == me.encode(), entry
            return 0
        except Exception as exc:
            print("error", type(exc).__name__, exc, flush=True)
            return 1
        finally:
            await store.aclose()

    async def main(folder, me, files):
        print("ready", flush=True)
        while not os.path.exists(os.path.join(folder, "go")):
            time.sleep(0.001)
        errors = sum(await asyncio.gather(*(one(folder, me, i) for i in range(files))))
        print(f"done errors={errors}", flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def test_sqlite_eight_processes_create_fifteen_fresh_files_without_errors(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    script = tmp_path / "opener.py"
    script.write_text(textwrap.dedent(OPENER))
    procs = [
        Proc(
            [sys.executable, str(script), str(folder), f"p{n}", str(FILES)],
            env={"PYTHONPATH": str(REPO_ROOT)},
        )
        for n in range(PROCESSES)
    ]
    try:
        for proc in procs:  # all started and waiting: the opens really overlap
            proc.wait_for(r"^ready", timeout=30)
        (folder / "go").touch()
        for proc in procs:
            match = proc.wait_for(r"done errors=(\d+)", timeout=60)
            assert match[1] == "0", proc.output
    finally:
        for proc in procs:
            proc.stop()
    for index in range(FILES):
        with sqlite3.connect(folder / f"f{index}.sqlite3") as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA application_id").fetchone()[0] == db.APPLICATION_ID
            keys = sorted(row[0] for row in conn.execute("SELECT key FROM kv"))
        assert keys == sorted(f"p{n}".encode() for n in range(PROCESSES))


async def test_sqlite_setup_waiting_too_long_says_how_long_it_waited(tmp_path: Path) -> None:
    # Another opener of the folder is stuck in its set-up: we give up after our timeout
    # and say so with the time really waited.
    path = tmp_path / "kv.sqlite3"
    fd = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    store = SQLiteStore(path, busy_timeout=0.3)
    try:
        with pytest.raises(StoreUnavailable) as info:
            await store.put("ns", "k", b"v", None, None)
    finally:
        os.close(fd)
    message = str(info.value)
    match = re.search(r"setting up the file for (\d+\.\d+) s \(limit 0.3 s", message)
    assert match, message
    assert 0.1 <= float(match[1]) <= 2.0, message
    await store.put("ns", "k", b"v", None, None)  # the lock is gone: the store opens
    entry = await store.get("ns", "k", 0.0)
    assert entry is not None and entry.value == b"v"
    await store.aclose()
