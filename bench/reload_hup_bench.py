"""HUP reload under load: failed requests (target 0) and p99 during reloads vs steady state.

    .venv/bin/python bench/reload_hup_bench.py                 # 3 reloads, 64 connections
    RELOADS=10 DURATION_S=40 .venv/bin/python bench/reload_hup_bench.py

`edgeworks serve --workers 2 --no-access-log --kv memory` on a hello worker; wrk -t2
-c64 runs twice for $DURATION_S seconds: once in steady state, once while the worker's code is
changed and SIGHUP sent $RELOADS times (each waits for the "reloaded" log line).
Printed: requests, failures (wrk's socket errors and non-2xx), req/s, p50 and p99.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from http_bench import free_port, run_wrk, wait_ok  # noqa: E402

RELOADS = int(os.environ.get("RELOADS", "3"))
SECONDS = int(os.environ.get("DURATION_S", "20"))
VENV_BIN = Path(sys.executable).parent
WORKER = 'from starlette.responses import PlainTextResponse\n\nasync def handle_request(request):\n    return PlainTextResponse("{v}")\n'


def wrk(url: str) -> dict[str, float]:
    return run_wrk(url, "-t2", "-c64", f"-d{SECONDS}s")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="edgeworks-hup-bench-"))
    (work / "edgeworks.toml").write_text('name = "hup"\nmain = "worker.py"\n')
    (work / "worker.py").write_text(WORKER.format(v="v0"))
    port = free_port()
    log = (work / "serve.log").open("w+")
    args = [str(VENV_BIN / "edgeworks"), "serve", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(
        [*args, "--no-access-log", "--kv", "memory"],
        cwd=work,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_ok(url, timeout=60)
        steady = wrk(url)
        times: list[float] = []

        def reload_loop() -> None:
            time.sleep(1)
            for n in range(1, RELOADS + 1):
                (work / "worker.py").write_text(WORKER.format(v=f"v{n}"))
                began = time.monotonic()
                proc.send_signal(signal.SIGHUP)
                while (work / "serve.log").read_text().count("reloaded:") < n:
                    time.sleep(0.01)
                times.append(time.monotonic() - began)

        reloader = threading.Thread(target=reload_loop)
        reloader.start()
        during = wrk(url)
        reloader.join()
        final = subprocess.run(["curl", "-s", url], capture_output=True, text=True).stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrk -t2 -c64 -d{SECONDS}s against serve --workers 2; {RELOADS} SIGHUP reloads")
    print(f"{'run':16} {'requests':>9} {'failed':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for name, r in (("steady", steady), (f"{RELOADS} reloads", during)):
        print(
            f"{name:16} {r['requests']:9.0f} {r['failed']:7.0f} {r['rps']:8.0f} "
            f"{r['p50']:7.2f} {r['p99']:7.2f}"
        )
    print(f"p99 during reloads / steady: {during['p99'] / steady['p99']:.2f}x")
    print(
        f"SIGHUP -> new processes serving: {', '.join(f'{t:.2f}' for t in times)} s; "
        f"final response {final!r}"
    )


if __name__ == "__main__":
    main()
