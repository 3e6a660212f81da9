"""Cold start: process start -> first 200, `edgeworks serve` and `edgeworks dev` beside a
starlette hello under bare uvicorn (uvloop, httptools), interleaved round by round.

    .venv/bin/python bench/cold_start_bench.py            # 7 rounds
    ROUNDS=11 .venv/bin/python bench/cold_start_bench.py

Printed per server: median wall time to the first 200 and the CPU time the process
(tree) used until then (steadier than wall time on a shared box), and both as
ratios to the baseline, and the best round's wall time (outside load only ever slows a
round). The project's modules are byte-compiled first, as an installed package is.
Target: <= 1.3x the baseline's wall time.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from http_bench import UVICORN_FLAGS, free_port, stop, wait_ok  # noqa: E402
from workers_bench import cpu_seconds  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "7"))
VENV_BIN = Path(sys.executable).parent


def command(name: str, port: int, work: Path) -> tuple[list[str], Path]:
    if name == "starlette+uvicorn":
        args = [sys.executable, "-m", "uvicorn", "starlette_hello:app", "--port", str(port)]
        return [*args, *UVICORN_FLAGS, "--log-level", "warning"], BENCH / "http_apps"
    edgeworks = [str(VENV_BIN / "edgeworks"), name.split()[1], "--port", str(port)]
    flags = ["--kv", "memory", "--no-access-log"] if name == "edgeworks serve" else ["--ephemeral"]
    return [*edgeworks, *flags], work / "hello"


def first_200(name: str, work: Path) -> tuple[float, float]:
    """Wall ms from the spawn to the first 200, and CPU ms of the process until then."""
    port = free_port()
    args, cwd = command(name, port, work)
    env = dict(os.environ, PYTHONPATH=f"{REPO}:{BENCH / 'http_apps'}")
    began = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        wait_ok(f"http://127.0.0.1:{port}/", timeout=30)
        wall = (time.perf_counter() - began) * 1000
        return wall, cpu_seconds(proc.pid) * 1000
    finally:
        stop(proc)


def main() -> None:
    # Bytecode as an installed package has it (pip compiles at install; a checkout run
    # with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module on each start,
    # while the baseline's site-packages are compiled).
    packages = ["cli.py", "runtime", "kv", "sites", "queues", "workers"]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *packages],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    work = Path(tempfile.mkdtemp(prefix="edgeworks-cold-start-"))
    shutil.copytree(REPO / "examples" / "hello", work / "hello")
    names = ["starlette+uvicorn", "edgeworks serve", "edgeworks dev"]
    walls: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    try:
        for _ in range(ROUNDS):
            for name in names:  # interleaved: outside load hits each alike
                wall, cpu = first_200(name, work)
                walls[name].append(wall)
                cpus[name].append(cpu)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base_wall = statistics.median(walls[names[0]])
    base_cpu = statistics.median(cpus[names[0]])
    best_wall = min(walls[names[0]])
    print(f"cold start to the first 200, {ROUNDS} interleaved rounds (median; best round)")
    print(
        f"{'server':18} {'wall ms':>8} {'ratio':>6} {'CPU ms':>7} {'ratio':>6} {'best ms':>8} {'ratio':>6}"
    )
    for name in names:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        best = min(walls[name])
        print(
            f"{name:18} {wall:8.0f} {wall / base_wall:5.2f}x {cpu:7.0f} {cpu / base_cpu:5.2f}x "
            f"{best:8.0f} {best / best_wall:5.2f}x"
        )


if __name__ == "__main__":
    main()
