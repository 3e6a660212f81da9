"""``edgeworks serve`` on Redis under wrk at 256 connections: every request is a KV
write or read, many more at once than the store has connections; none may fail."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.test_scale_out import Location, write_project

WRK = shutil.which("wrk") or "/usr/bin/wrk"
CONNECTIONS = 256
THREADS = 2
KEYS = 128  # each wrk thread writes them all (it makes more requests than this)
# Seconds wrk waits for one answer before it counts a timeout: generous, because this
# test counts failed requests, not latency (256 connections queue on a shared box).
TIMEOUT = 30

# Each request takes the next key of 0..KEYS-1 (per wrk thread, so threads overlap).
SCRIPT = """
local n = 0
request = function()
  n = n + 1
  local key = "k" .. (n % {keys})
  return wrk.format("{method}", "/kv?key=" .. key, nil, {body})
end
"""


def _wrk(url: str, script: Path, seconds: int) -> str:
    done = subprocess.run(
        [
            WRK,
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            f"--timeout={TIMEOUT}s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _requests(report: str) -> int:
    match = re.search(r"(\d+) requests in", report)
    assert match, report
    return int(match[1])


def test_serve_on_redis_answers_256_concurrent_connections_without_errors(
    tmp_path: Path, redis_url: str
) -> None:
    location = Location(write_project(tmp_path / "app", redis_url, "none"))
    try:
        puts = tmp_path / "puts.lua"
        puts.write_text(SCRIPT.format(keys=KEYS, method="PUT", body='"v-" .. key'))
        report = _wrk(location.url, puts, 2)
        print(report)
        assert "Non-2xx" not in report and "Socket errors" not in report, report
        assert _requests(report) >= THREADS * KEYS, report  # every key was written
        gets = tmp_path / "gets.lua"
        gets.write_text(SCRIPT.format(keys=KEYS, method="GET", body="nil"))
        report = _wrk(location.url, gets, 1)
        print(report)
        # A 404 (a put that was lost) or a 503 (store unavailable) would count here.
        assert "Non-2xx" not in report and "Socket errors" not in report, report
        for key in ("k1", "k2", "k127"):
            assert location.get(key).text == f"v-{key}"
        assert "Store unavailable" not in location.proc.output
    finally:
        location.stop()
