"""A Cloudflare Python Workers hello under `edgeworks dev`, beside an edgeworks.toml hello.

Run from the repository root::

    .venv/bin/python bench/python_workers_bench.py          # 20 edits, 5 cold starts
    EDITS=40 STARTS=9 .venv/bin/python bench/python_workers_bench.py

Both projects are started the same way (`edgeworks dev --ephemeral` in the
project folder, the config found by discovery), in the same run:

- `cloudflare`: wrangler.jsonc + src/entry.py with `class Default(WorkerEntrypoint)`
  returning `workers.Response` (what `pywrangler init` writes);
- `native`: edgeworks.toml + worker.py with `handle_request` returning a
  starlette `PlainTextResponse` (the baseline).

Figures (the method of bench/reload_bench.py): cold start = process start to
the first 200 (median of STARTS, interleaved); reload = save an edit, poll
`GET /` until the new text comes back (p50, p95, max of EDITS; both servers
run at once and the edits alternate between them). Targets: start
<= 500 ms, reload p95 <= 50 ms, each within 10% of the native project.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reload_bench import (
    EDITS,
    PAUSE_S,
    PYTHON,
    STARTS,
    WORKER,
    Server,
    cold_starts,
    free_port,
    pct,
    wait_for,
)

ENTRY = """\
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("{text}\\n")
"""

WRANGLER = """\
{
  "name": "hello-python",
  "main": "src/entry.py",
  "compatibility_date": "2025-11-02",
  "compatibility_flags": ["python_workers"],
}
"""
EDGEWORKS_TOML = 'name = "hello"\nmain = "worker.py"\n'


def dev(port: int) -> list[str]:
    return [
        PYTHON,
        "-c",
        "import sys, cli; sys.exit(cli.main())",
        "dev",
        "--port",
        str(port),
        "--ephemeral",
    ]


def interleaved_reloads(servers: list[Server]) -> dict[str, list[float]]:
    """Both servers up at once; edits alternate between them, so load drifts hit both."""
    procs, ports = [], []
    try:
        for server in servers:
            server.write("hello")
            port = free_port()
            procs.append(server.start(port))
            ports.append(port)
        for port in ports:
            wait_for(port, lambda status, _body: status == 200)
        latencies: dict[str, list[float]] = {s.name: [] for s in servers}
        for i in range(EDITS):
            for server, port in zip(servers, ports, strict=True):
                text = f"hello edit {i}"
                expected = (text + "\n").encode()
                saved = time.perf_counter()
                server.write(text)
                seen = wait_for(port, lambda status, body, e=expected: status == 200 and body == e)
                latencies[server.name].append(seen - saved)
                time.sleep(PAUSE_S)
        return latencies
    finally:
        for proc in procs:
            Server.stop(proc)


def main() -> None:
    cloudflare = Server("cloudflare", ENTRY, "src/entry.py", dev)
    (cloudflare.folder / "src").mkdir()
    (cloudflare.folder / "wrangler.jsonc").write_text(WRANGLER)
    native = Server("native", WORKER, "worker.py", dev)
    (native.folder / "edgeworks.toml").write_text(EDGEWORKS_TOML)
    servers = [cloudflare, native]
    results: dict[str, dict[str, float]] = {}
    try:
        starts = cold_starts(servers)
        reloads = interleaved_reloads(servers)
        for server in servers:
            latencies = reloads[server.name]
            results[server.name] = {
                "cold_start_ms": statistics.median(starts[server.name]) * 1000,
                "reload_p50_ms": statistics.median(latencies) * 1000,
                "reload_p95_ms": pct(latencies, 0.95) * 1000,
                "reload_max_ms": max(latencies) * 1000,
            }
    finally:
        for server in servers:
            server.cleanup()

    print(
        f"python workers bench: {EDITS} edits, {STARTS} cold starts, "
        f"python {sys.version.split()[0]}"
    )
    print(f"{'metric':<16}{'cloudflare':>14}{'native':>14}{'ratio':>10}")
    for metric in ("cold_start_ms", "reload_p50_ms", "reload_p95_ms", "reload_max_ms"):
        ours, base = results["cloudflare"][metric], results["native"][metric]
        print(f"{metric:<16}{ours:>14.1f}{base:>14.1f}{ours / base:>9.2f}x")


if __name__ == "__main__":
    main()
