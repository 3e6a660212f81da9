"""Dev server figures: reload latency, cold start, idle RSS -- beside `uvicorn --reload`.

Run from the repository root::

    .venv/bin/python bench/reload_bench.py            # 20 edits, 5 cold starts
    EDITS=40 STARTS=9 .venv/bin/python bench/reload_bench.py

For each server, in the same run on the same machine:

- reload: edit the worker's return string, then poll ``GET /`` (a new
  connection each time, as a browser refresh would) until the response has
  the new string; the time from the save to that response. p50, p95, max.
- cold start: process start -> first 200 response (median of STARTS).
- idle RSS: resident memory after a few requests, summed over the process
  tree (uvicorn --reload runs a supervisor plus a worker process); and
  again after all the edits (old generations must not pile up).

The baseline is `uvicorn --reload` serving an equivalent starlette app (one
route answering a plain-text string), the usual way to get reload in Python.
"""

from __future__ import annotations

import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
EDITS = int(os.environ.get("EDITS", "20"))
STARTS = int(os.environ.get("STARTS", "5"))
POLL_S = 0.002  # between polls while waiting for new content
PAUSE_S = 0.25  # between edits, so each edit is its own reload

WORKER = '''\
"""The smallest edgeworks worker: every request gets a greeting."""

from starlette.responses import PlainTextResponse


async def handle_request(request, env, ctx):
    return PlainTextResponse("{text}\\n")
'''

STARLETTE_APP = """\
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def hello(request):
    return PlainTextResponse("{text}\\n")


app = Starlette(routes=[Route("/{{path:path}}", hello)])
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, timeout: float = 2.0) -> tuple[int, bytes] | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return None
    finally:
        conn.close()


def wait_for(port: int, predicate: Callable[[int, bytes], bool], timeout: float = 20.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        result = get(port)
        if result is not None and predicate(*result):
            return time.perf_counter()
        time.sleep(POLL_S)
    raise TimeoutError("server never answered as expected")


def tree_rss_kib(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == current:
                    todo.append(int(entry.name))
    return total


class Server:
    """One server under test: how to write its code and how to start it."""

    def __init__(self, name: str, template: str, filename: str, argv: Callable[[int], list[str]]):
        self.name = name
        self.template = template
        self.filename = filename
        self.argv = argv
        self.folder = Path(tempfile.mkdtemp(prefix=f"reload-bench-{name}-"))

    def write(self, text: str) -> None:
        (self.folder / self.filename).write_text(self.template.format(text=text))

    def start(self, port: int) -> subprocess.Popen[bytes]:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        return subprocess.Popen(
            self.argv(port),
            cwd=self.folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    @staticmethod
    def stop(proc: subprocess.Popen[bytes]) -> None:
        import signal

        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def cold_start(self) -> float:
        self.write("hello")
        port = free_port()
        started = time.perf_counter()
        proc = self.start(port)
        try:
            return wait_for(port, lambda status, _body: status == 200) - started
        finally:
            self.stop(proc)

    def reloads(self) -> tuple[list[float], int, int]:
        self.write("hello")
        port = free_port()
        proc = self.start(port)
        try:
            wait_for(port, lambda status, _body: status == 200)
            for _ in range(5):
                get(port)
            time.sleep(1.0)  # idle
            rss = tree_rss_kib(proc.pid)
            latencies = []
            for i in range(EDITS):
                text = f"hello edit {i}"
                expected = (text + "\n").encode()
                saved = time.perf_counter()
                self.write(text)
                seen = wait_for(port, lambda status, body, e=expected: status == 200 and body == e)
                latencies.append(seen - saved)
                time.sleep(PAUSE_S)
            return latencies, rss, tree_rss_kib(proc.pid)
        finally:
            self.stop(proc)

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cold_starts(servers: list[Server]) -> dict[str, list[float]]:
    """STARTS cold starts of each server, interleaved, so load drifts hit all alike."""
    starts: dict[str, list[float]] = {s.name: [] for s in servers}
    for _ in range(STARTS):
        for server in servers:
            starts[server.name].append(server.cold_start())
    return starts


def main() -> None:
    edgeworks = Server(
        "edgeworks-dev",
        WORKER,
        "worker.py",
        lambda port: [
            PYTHON,
            "-c",
            "import sys, cli; sys.exit(cli.main())",
            "dev",
            "worker.py",
            "--port",
            str(port),
            "--ephemeral",
        ],
    )
    uvicorn = Server(
        "uvicorn-reload",
        STARLETTE_APP,
        "app.py",
        lambda port: [
            PYTHON,
            "-m",
            "uvicorn",
            "app:app",
            "--reload",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
    )
    servers = [edgeworks, uvicorn]
    results: dict[str, dict[str, float]] = {}
    try:
        starts = cold_starts(servers)
        for server in servers:
            latencies, rss, rss_after = server.reloads()
            results[server.name] = {
                "reload_p50_ms": statistics.median(latencies) * 1000,
                "reload_p95_ms": pct(latencies, 0.95) * 1000,
                "reload_max_ms": max(latencies) * 1000,
                "cold_start_ms": statistics.median(starts[server.name]) * 1000,
                "idle_rss_mib": rss / 1024,
                "rss_after_mib": rss_after / 1024,
            }
    finally:
        for server in servers:
            server.cleanup()

    print(f"reload bench: {EDITS} edits, {STARTS} cold starts, python {sys.version.split()[0]}")
    header = f"{'metric':<16}" + "".join(f"{s.name:>18}" for s in servers) + f"{'ratio':>10}"
    print(header)
    for metric in (
        "reload_p50_ms",
        "reload_p95_ms",
        "reload_max_ms",
        "cold_start_ms",
        "idle_rss_mib",
        "rss_after_mib",
    ):
        ours, base = results[edgeworks.name][metric], results[uvicorn.name][metric]
        print(f"{metric:<16}{ours:>18.1f}{base:>18.1f}{ours / base:>9.2f}x")
    ok = results[edgeworks.name]
    print(
        "targets: reload p95 < 150 ms: "
        f"{'met' if ok['reload_p95_ms'] < 150 else 'MISSED'}; cold start <= 300 ms: "
        f"{'met' if ok['cold_start_ms'] <= 300 else 'MISSED'}; idle RSS <= 60 MiB: "
        f"{'met' if ok['idle_rss_mib'] <= 60 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
