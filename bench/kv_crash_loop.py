"""Kill -9 loop for the SQLite store (reliability checklist F1): a child process puts
200 keys concurrently, round after round, printing each key after its put returned;
the loop SIGKILLs it at a random point, reopens the file and checks that every
acknowledged put is there (the acknowledged round, or the next one if its put
committed before the kill landed, never an older or torn value) and that
``PRAGMA integrity_check`` is "ok". All iterations share one file, so each one also
recovers the WAL the previous kill left behind.

    .venv/bin/python bench/kv_crash_loop.py                # 1,000 kills
    .venv/bin/python bench/kv_crash_loop.py --kills 100 --synchronous full
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

KEYS = 200

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from kv import KVNamespace, open_store

    def value(i, r, it):
        return f"{it}:{i}:{r}:" + "x" * ((i * 7919 + r * 104729) % 4096)

    async def main(url, it, keys):
        ns = KVNamespace(open_store(url), "crash")

        async def put(i, r):
            await ns.put(f"key-{i}", value(i, r, it))
            sys.stdout.write(f"{i} {r}\\n")
            sys.stdout.flush()

        r = 0
        while True:
            await asyncio.gather(*(put(i, r) for i in range(keys)))
            r += 1

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    """
)


def value(i: int, r: int, it: int) -> str:
    return f"{it}:{i}:{r}:" + "x" * ((i * 7919 + r * 104729) % 4096)


def run_once(
    url: str, path: Path, script: Path, it: int, rng: random.Random, prev: dict[int, str | None]
) -> list[str]:
    """One kill; returns the problems found after reopening."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    child = subprocess.Popen(
        [sys.executable, str(script), url, str(it), str(KEYS)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    target = rng.randint(1, 8 * KEYS)
    lines: list[str] = []
    for line in child.stdout:
        lines.append(line)
        if len(lines) >= target:
            break
    time.sleep(rng.random() * 0.01)  # land the kill at varied points of the writer's work
    child.send_signal(signal.SIGKILL)
    child.wait()
    lines += child.stdout.read().splitlines(keepends=True)
    child.stdout.close()

    acked: dict[int, int] = {}
    for line in lines:
        if line.endswith("\n"):
            i, r = map(int, line.split())
            acked[i] = max(r, acked.get(i, -1))
    problems = []
    with sqlite3.connect(path) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        rows = dict(conn.execute("SELECT key, value FROM kv WHERE ns = 'crash'").fetchall())
    if integrity != "ok":
        problems.append(f"kill {it}: integrity_check: {integrity}")
    for i in range(KEYS):
        raw = rows.get(f"key-{i}".encode())
        stored = None if raw is None else raw.decode()
        if i in acked:
            allowed = {value(i, acked[i], it), value(i, acked[i] + 1, it)}
        else:  # never acknowledged in this round: the old value or the first new one
            allowed = {prev.get(i), value(i, 0, it)}
        if stored not in allowed:
            problems.append(f"kill {it}: key-{i} acked round {acked.get(i)}: {stored!r:.40}")
        prev[i] = stored
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--synchronous", choices=("normal", "full"), default="normal")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="edgeworks-kv-crash-"))
    path = folder / "kv.sqlite3"
    script = folder / "writer.py"
    script.write_text(WRITER)
    url = f"sqlite://{path}?synchronous={args.synchronous}"
    rng = random.Random(args.seed)
    prev: dict[int, str | None] = {}
    problems: list[str] = []
    start = time.perf_counter()
    for it in range(args.kills):
        found = run_once(url, path, script, it, rng, prev)
        problems += found
        for problem in found:
            print(problem)
    seconds = time.perf_counter() - start
    print(
        f"{args.kills} kills (synchronous={args.synchronous}, {KEYS} keys, one file) in "
        f"{seconds:.0f} s: {len(problems)} problems"
    )
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
