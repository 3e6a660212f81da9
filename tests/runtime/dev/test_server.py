"""`edgeworks dev` as a real process: reload, errors, config, noise, clean stop.

One dev process serves the whole module (tests run in file order and build on
each other's state); the last test stops it with SIGINT while a live-reload
stream is open.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Proc, children_of, edgeworks, wait_until

WORKER = """\
import asyncio

from starlette.responses import Response

import helper


async def handle_request(request, env, ctx):
    if request.url.path == "/slow":
        version = VERSION
        await asyncio.sleep(float(request.query_params.get("s", "1")))
        return Response(f"slow {version} {VERSION}\\n", media_type="text/plain")
    if request.url.path == "/page":
        return Response("<html><body>page</body></html>", media_type="text/html")
    n = int(await env.COUNTER.get("hits") or 0) + 1
    await env.COUNTER.put("hits", str(n))
    print(f"worker says hit {n}")
    return Response(
        f"{VERSION} {helper.WORD} {env.GREETING} {env.SECRET} hit {n}\\n",
        media_type="text/plain",
    )


VERSION = "v1"
"""

CONFIG = """\
name = "devtest"
main = "worker.py"

[vars]
GREETING = "{greeting}"

[[kv_namespaces]]
binding = "COUNTER"
id = "counter"
"""


def _port_reusable(port: int) -> bool:
    """Nothing listens on ``port`` and a server can bind it again.

    The server closed the stream, so its side of that connection sits in
    TIME_WAIT: binding needs SO_REUSEADDR, as every server (ours included) sets.
    """
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class Dev:
    proc: Proc
    root: Path
    url: str
    client: httpx.Client

    def get(self, path: str = "/", **kwargs: Any) -> httpx.Response:
        return self.client.get(self.url + path, **kwargs)

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = self.get("/__edgeworks/status").json()
        return data

    def wait_text(self, pattern: str, path: str = "/", timeout: float = 5.0) -> httpx.Response:
        last: list[httpx.Response] = []

        def matches() -> bool:
            last[:] = [self.get(path)]
            return re.search(pattern, last[0].text) is not None

        assert wait_until(matches, timeout), f"no {pattern!r}; last: {last[0].text[:500]}"
        return last[0]

    def wait_reloads(self, count: int, timeout: float = 5.0) -> dict[str, Any]:
        assert wait_until(lambda: self.status()["reloads"] >= count, timeout), self.status()
        return self.status()


def write_project(root: Path, greeting: str = "hello", secret: str = "s1") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "worker.py").write_text(WORKER)
    (root / "helper.py").write_text('WORD = "alpha"\n')
    (root / "edgeworks.toml").write_text(CONFIG.format(greeting=greeting))
    (root / ".dev.vars").write_text(f"SECRET={secret}\n")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    root = tmp_path_factory.mktemp("devproj")
    write_project(root)
    proc = edgeworks("dev", "--port", "0", cwd=root)
    try:
        match = proc.wait_for(r"Listening on (http://127\.0\.0\.1:\d+)")
        with httpx.Client(timeout=5) as client:
            yield Dev(proc, root, match.group(1), client)
    finally:
        proc.stop()


def test_dev_banner_access_log_and_worker_output(dev: Dev) -> None:
    response = dev.get("/")
    assert response.status_code == 200
    assert response.text == "v1 alpha hello s1 hit 1\n"
    out = dev.proc.output
    assert "COUNTER  KV namespace  counter" in out
    assert "GREETING  var  'hello'" in out
    assert "SECRET  secret" in out and "s1" not in out.split("Listening")[0]
    assert f"state     {dev.root / '.edgeworks' / 'state' / 'kv.sqlite3'}" in out
    assert f"{dev.root}/**/*.py" in out and str(dev.root / "edgeworks.toml") in out
    dev.proc.wait_for(r"^GET / 200 \d+\.\dms$")
    dev.proc.wait_for(r"worker says hit 1")
    assert dev.get("/__edgeworks/health").status_code == 200
    assert dev.status()["watcher_alive"] is True


def test_dev_code_edit_serves_new_code_and_keeps_kv(dev: Dev) -> None:
    before = dev.status()["reloads"]
    (dev.root / "worker.py").write_text(WORKER.replace('VERSION = "v1"', 'VERSION = "v2"'))
    response = dev.wait_text(r"^v2 ")
    assert response.text.startswith("v2 alpha hello s1 hit ")
    assert int(response.text.split("hit ")[1]) >= 2  # the KV counter survived the reload
    status = dev.status()
    assert status["reloads"] == before + 1
    assert status["last_trigger"] == "worker.py changed"
    dev.proc.wait_for(r"^Reloaded in \d+\.\dms \(worker\.py changed\)$")


def test_dev_helper_module_edit_is_reimported(dev: Dev) -> None:
    (dev.root / "helper.py").write_text('WORD = "beta"\n')
    assert dev.wait_text(r"^v2 beta ").status_code == 200


def test_dev_syntax_error_page_then_fix(dev: Dev) -> None:
    good = (dev.root / "worker.py").read_text()
    (dev.root / "worker.py").write_text(good + "\ndef broken(:\n")
    lines = good.count("\n") + 2
    text = dev.wait_text("SyntaxError").text
    assert f"{dev.root / 'worker.py'}:{lines}: SyntaxError" in text
    page = dev.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "SyntaxError" in page.text and f"worker.py:{lines}" in page.text
    plain = dev.get("/")
    assert plain.status_code == 500 and plain.headers["content-type"].startswith("text/plain")
    assert "SyntaxError" in (dev.status()["error"] or "")
    dev.proc.wait_for(r"Reload failed \(worker\.py changed\)")
    (dev.root / "worker.py").write_text(good.replace('VERSION = "v2"', 'VERSION = "v3"'))
    assert dev.wait_text(r"^v3 ").status_code == 200
    assert dev.status()["error"] is None


@pytest.mark.parametrize(
    "case",
    [
        "def handle_request(request, env, ctx):\n    return None\n",  # not async
        "raise RuntimeError('boom at import')\n",
        "import no_such_module_here\n",
        "x = 1\n",  # no handler
    ],
)
def test_dev_import_failures_keep_serving_after_fix(dev: Dev, case: str) -> None:
    good = (dev.root / "worker.py").read_text()
    count = dev.status()["reloads"]
    (dev.root / "worker.py").write_text(case)
    dev.wait_reloads(count + 1)
    response = dev.get("/")
    assert response.status_code == 500
    assert "worker.py" in response.text
    (dev.root / "worker.py").write_text(good)
    dev.wait_text(r"^v3 ")


def test_dev_in_flight_request_finishes_on_old_code(dev: Dev) -> None:
    worker = dev.root / "worker.py"
    good = worker.read_text()
    result: list[httpx.Response] = []
    slow = threading.Thread(target=lambda: result.append(dev.get("/slow", params={"s": "1.0"})))
    slow.start()
    time.sleep(0.2)  # let the slow request reach the handler
    worker.write_text(good.replace('VERSION = "v3"', 'VERSION = "n1"'))
    dev.wait_text(r"^n1 ")  # new requests get the new code at once
    slow.join(5)
    assert result and result[0].text == "slow v3 v3\n"  # old module, old globals throughout
    worker.write_text(good)
    dev.wait_text(r"^v3 ")


def test_dev_rapid_saves_give_at_most_two_reloads(dev: Dev) -> None:
    count = dev.status()["reloads"]
    worker = dev.root / "worker.py"
    good = worker.read_text()
    for i in range(20):  # 20 saves within ~300 ms
        worker.write_text(good.replace('VERSION = "v3"', f'VERSION = "r{i}"'))
        time.sleep(0.012)
    dev.wait_text(r"^r19 ")
    assert wait_until(lambda: dev.status()["reloads"] >= count + 1)
    time.sleep(0.3)  # would a trailing reload still come? (negative check, bounded)
    assert dev.status()["reloads"] - count <= 2


def test_dev_atomic_and_rename_saves_are_seen(dev: Dev) -> None:
    worker = dev.root / "worker.py"
    good = worker.read_text()
    # (a) write a temporary file and rename it over the original
    tmp = dev.root / "worker.py.tmp"
    tmp.write_text(good.replace('VERSION = "r19"', 'VERSION = "a1"'))
    os.replace(tmp, worker)
    dev.wait_text(r"^a1 ")
    # (b) vim's default: rename the original to a backup, then write a new file
    os.replace(worker, dev.root / "worker.py~")
    worker.write_text(good.replace('VERSION = "r19"', 'VERSION = "b1"'))
    dev.wait_text(r"^b1 ")
    (dev.root / "worker.py~").unlink()


def test_dev_slow_chunked_save_never_serves_a_partial_file(dev: Dev) -> None:
    worker = dev.root / "worker.py"
    before = worker.read_text()
    old = re.search(r'VERSION = "(\w+)"', before)
    assert old is not None
    final = before.replace(old.group(0), 'VERSION = "c1"')
    seen: set[str] = set()
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            response = dev.get("/")
            seen.add(f"{response.status_code} {response.text.split(' ')[0]}")

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        third = len(final) // 3
        with worker.open("w") as f:  # truncate, then three chunks 80 ms apart
            for start in (0, third, 2 * third):
                f.write(final[start : start + third] if start < 2 * third else final[start:])
                f.flush()
                time.sleep(0.08)
        dev.wait_text(r"^c1 ")
    finally:
        done.set()
        poller.join(5)
    assert seen <= {f"200 {old.group(1)}", "200 c1"}, seen


def test_dev_noise_never_reloads(dev: Dev) -> None:
    count = dev.status()["reloads"]
    for folder in (".edgeworks", ".git", "__pycache__", ".venv", "node_modules"):
        (dev.root / folder).mkdir(exist_ok=True)
        (dev.root / folder / "noise.py").write_text("x = 1\n")
    (dev.root / "kv.sqlite3-wal").write_bytes(b"x")
    (dev.root / ".worker.py.swp").write_bytes(b"x")
    (dev.root / "debug.log").write_text("x\n")
    # A real change after the noise: exactly one reload, triggered by it alone.
    (dev.root / "helper.py").write_text('WORD = "gamma"\n')
    dev.wait_text(r" gamma ")
    status = dev.status()
    assert status["reloads"] == count + 1
    assert status["last_trigger"] == "helper.py changed"


def test_dev_config_and_dev_vars_changes_rebuild_env(dev: Dev) -> None:
    (dev.root / "edgeworks.toml").write_text(CONFIG.format(greeting="bonjour"))
    dev.wait_text(r" bonjour s1 ")
    (dev.root / ".dev.vars").write_text("SECRET=s2\n")
    dev.wait_text(r" bonjour s2 hit ")
    assert dev.status()["last_trigger"] == ".dev.vars changed"


def test_dev_invalid_config_shown_like_code_error(dev: Dev) -> None:
    (dev.root / "edgeworks.toml").write_text(CONFIG.format(greeting="x") + "\nbogus = 1\n")
    response = dev.wait_text(r"bogus")
    assert response.status_code == 500
    assert "edgeworks.toml" in response.text and "ConfigError" in response.text
    (dev.root / "edgeworks.toml").write_text(CONFIG.format(greeting="fixed"))
    dev.wait_text(r" fixed s2 ")


def test_dev_scheduled_endpoint(dev: Dev) -> None:
    worker = dev.root / "worker.py"
    worker.write_text(
        worker.read_text()
        + "\n\nasync def scheduled(event, env, ctx):\n"
        + "    await env.COUNTER.put('cron', event.cron)\n"
    )
    count = dev.status()["reloads"]
    dev.wait_reloads(count + 1)
    response = dev.client.post(dev.url + "/__edgeworks/scheduled", params={"cron": "*/5 * * * *"})
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "cron": "*/5 * * * *"}
    assert dev.get("/__edgeworks/scheduled").status_code == 405
    assert dev.get("/__edgeworks/nope").status_code == 404


def test_dev_sigint_with_open_sse_exits_fast(dev: Dev) -> None:
    port = int(dev.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sse:
        sse.sendall(b"GET /__edgeworks/live-reload HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"text/event-stream" in sse.recv(4096)
        assert wait_until(lambda: dev.status()["live_reload_clients"] == 1)
        children = children_of(dev.proc.pid)
        started = time.monotonic()
        dev.proc.signal(signal.SIGINT)
        code = dev.proc.wait(5)
        elapsed = time.monotonic() - started
    assert code == 0
    assert elapsed < 3.0
    assert _port_reusable(port)
    assert children == [] or all(not Path(f"/proc/{pid}").exists() for pid in children)
    assert children_of(dev.proc.pid) == []


def test_dev_bare_worker_with_persist_to(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(
        "from starlette.responses import PlainTextResponse\n\n"
        "async def handle_request(request):\n"
        "    return PlainTextResponse('bare\\n')\n"
    )
    proc = edgeworks("dev", "worker.py", "--port", "0", "--persist-to", "state", cwd=tmp_path)
    try:
        url = proc.wait_for(r"Listening on (http://\S+)").group(1)
        assert httpx.get(url + "/x", timeout=5).text == "bare\n"
        assert "bindings  (none)" in proc.output
        assert f"state     {tmp_path / 'state' / 'kv.sqlite3'}" in proc.output
    finally:
        code = proc.stop()
    assert code == 0  # SIGTERM is a clean stop too


def test_dev_startup_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "edgeworks.toml").write_text('name = "x"\nmian = "worker.py"\n')
    proc = edgeworks("dev", "--port", "0", cwd=tmp_path)
    assert proc.wait(10) == 2
    assert "mian" in proc.output and "did you mean" in proc.output
    assert "Traceback" not in proc.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "edgeworks.toml").write_text('name = "x"\nmain = "worker.py"\n')
        proc = edgeworks("dev", "--port", str(port), cwd=tmp_path)
        assert proc.wait(10) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in proc.output


async def test_dev_cron_triggers_run_on_schedule_in_dev(tmp_path: Path) -> None:
    from runtime.dev.server import DevOptions, DevServer

    (tmp_path / "worker.py").write_text(
        "from starlette.responses import Response\n\n"
        "async def handle_request(request, env, ctx):\n    return Response('x')\n\n"
        "async def scheduled(event, env, ctx):\n    pass\n"
    )
    (tmp_path / "edgeworks.toml").write_text(
        'name = "crons"\nmain = "worker.py"\n[triggers]\ncrons = ["*/5 * * * *"]\n'
    )
    server = DevServer(DevOptions(cwd=tmp_path, ephemeral=True))
    try:
        await server.setup()
        assert server.config is not None
        await server._restart_cron(server.config)
        assert server.cron is not None
        assert server.cron.schedule.crons == ["*/5 * * * *"]
        _when, due = server.cron.schedule.next_due(0.0)
        assert due == ["*/5 * * * *"]
        assert server.cron._task is not None and not server.cron._task.done()  # running
    finally:
        await server._close()
    assert server.cron is None
