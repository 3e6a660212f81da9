"""HUP reload of a real `edgeworks serve`: new code under load without a failed request."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import Counter
from pathlib import Path

import httpx

from tests.support import Proc, children_of, edgeworks, wait_until

WORKER = """
from starlette.responses import PlainTextResponse

async def handle_request(request):
    return PlainTextResponse("{version}")
"""
CONNECTIONS = 64  # the load: 64 connections, each sending as fast as answered
RELOADS = 10


def _project(tmp_path: Path, version: str) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "edgeworks.toml").write_text('name = "app"\nmain = "worker.py"\n')
    _write(folder, version)
    return folder


def _write(folder: Path, version: str) -> None:
    (folder / "worker.py").write_text(WORKER.format(version=version))


class Load:
    """``CONNECTIONS`` keep-alive connections sending GET / back to back (own thread)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: Counter[str] = Counter()
        self.failures: list[str] = []
        self.latest = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            await asyncio.gather(*(self._loop(client) for _ in range(CONNECTIONS)))

    async def _loop(self, client: httpx.AsyncClient) -> None:
        while not self._stop.is_set():
            try:
                response = await client.get(self.url)
            except httpx.HTTPError as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
                continue
            if response.status_code != 200:
                self.failures.append(f"{response.status_code}: {response.text[:80]}")
            self.seen[response.text] += 1
            self.latest = response.text


def _serve(folder: Path, workers: int) -> tuple[Proc, str]:
    proc = edgeworks(
        "serve", "--port", "0", "--workers", str(workers), "--kv", "memory", "--no-access-log",
        cwd=folder,
    )  # fmt: skip
    port = proc.wait_for(r"Listening on http://127\.0\.0\.1:(\d+)").group(1)
    url = f"http://127.0.0.1:{port}/"
    assert wait_until(lambda: _answers(url), timeout=30)
    return proc, url


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_supervisor_hup_under_load_switches_code_without_failures(tmp_path: Path) -> None:
    folder = _project(tmp_path, "v0")
    proc, url = _serve(folder, workers=2)
    try:
        with Load(url) as load:
            assert wait_until(lambda: load.seen["v0"] > 100, timeout=20)
            for n in range(1, RELOADS + 1):
                _write(folder, f"v{n}")
                proc.signal(signal.SIGHUP)
                proc.wait_for(r"reloaded: new processes .* serve", timeout=60)
                assert wait_until(lambda n=n: load.latest == f"v{n}", timeout=20)
                # the line of this reload is not matched again by the next wait_for
                proc.lines[:] = [line for line in proc.lines if "reloaded:" not in line]
            # A HUP with broken code: the error is logged, the old code keeps serving.
            (folder / "worker.py").write_text("def handle_request(:\n")
            proc.signal(signal.SIGHUP)
            proc.wait_for(r"reload failed, the old processes keep serving", timeout=60)
            assert "SyntaxError" in proc.output
            before = load.seen[f"v{RELOADS}"]
            assert wait_until(lambda: load.seen[f"v{RELOADS}"] > before + 100, timeout=20)
        assert load.failures == []
        assert set(load.seen) == {f"v{n}" for n in range(RELOADS + 1)}
        assert len(children_of(proc.pid)) <= 2 + 1  # the serving pair (+ a resource helper)
    finally:
        assert proc.stop(timeout=30) == 0, proc.output


def test_supervisor_hup_in_process_serve_hands_over_to_a_spawned_process(
    tmp_path: Path,
) -> None:
    folder = _project(tmp_path, "one")
    proc, url = _serve(folder, workers=1)
    try:
        with Load(url) as load:
            assert wait_until(lambda: load.seen["one"] > 100, timeout=20)
            _write(folder, "two")
            proc.signal(signal.SIGHUP)
            proc.wait_for(r"reloaded: new processes \d+ serve", timeout=60)
            assert wait_until(lambda: load.latest == "two", timeout=20), proc.output
        assert load.failures == []
        # A config error: logged, nothing changes.
        (folder / "edgeworks.toml").write_text('name = "app"\nmain = "worker.py"\nbogus = 1\n')
        proc.signal(signal.SIGHUP)
        proc.wait_for(r"reload failed, the old processes keep serving: .*bogus", timeout=30)
        assert httpx.get(url).text == "two"
        # The parent now supervises: another reload spawns on its copy of the socket.
        (folder / "edgeworks.toml").write_text('name = "app"\nmain = "worker.py"\n')
        _write(folder, "three")
        proc.lines.clear()
        proc.signal(signal.SIGHUP)
        proc.wait_for(r"reloaded: new processes \d+ serve", timeout=60)
        assert wait_until(lambda: _text(url) == "three", timeout=20), proc.output
    finally:
        assert proc.stop(timeout=30) == 0, proc.output


def _text(url: str) -> str:
    try:
        return httpx.get(url, timeout=2).text
    except httpx.HTTPError:
        return ""
