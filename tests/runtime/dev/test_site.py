"""`edgeworks dev` on a [site] project: bucket redeploys, live reload, burst debouncing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.dev.pages import LIVE_RELOAD_SCRIPT
from runtime.limits import DEV_BUCKET_QUIET_MS
from tests.support import Proc, edgeworks, wait_until

CONFIG = """\
name = "devsite"

[site]
bucket = "public"
"""


@dataclass
class SiteDev:
    proc: Proc
    root: Path
    url: str
    client: httpx.Client

    def get(self, path: str) -> httpx.Response:
        return self.client.get(self.url + path)

    def reloads(self) -> int:
        return int(self.get("/__edgeworks/status").json()["reloads"])


@dataclass
class SseReader:
    """Reads a live-reload stream on a raw socket in a thread (httpx would buffer it)."""

    port: int
    data: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port))
        self.sock.sendall(b"GET /__edgeworks/live-reload HTTP/1.1\r\nHost: x\r\n\r\n")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                self.data += chunk
        except OSError:  # closed by close()
            pass

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteDev]:
    root = tmp_path_factory.mktemp("devsite")
    (root / "edgeworks.toml").write_text(CONFIG)
    (root / "public").mkdir()
    (root / "public" / "index.html").write_text("<html><body><h1>v1</h1></body></html>")
    proc = edgeworks("dev", "--port", "0", "--ephemeral", cwd=root)
    try:
        url = proc.wait_for(r"Listening on (http://127\.0\.0\.1:\d+)").group(1)
        with httpx.Client(timeout=5) as client:
            yield SiteDev(proc, root, url, client)
    finally:
        proc.stop()


def test_dev_site_deploys_and_injects_live_reload(site: SiteDev) -> None:
    assert "Deployed site: 1 uploaded" in site.proc.output
    assert "live reload on" in site.proc.output
    page = site.get("/")
    assert page.status_code == 200
    assert page.content.startswith(b"<html><body><h1>v1</h1>")
    assert page.content.endswith(LIVE_RELOAD_SCRIPT)


def test_dev_site_bucket_change_redeploys_and_notifies_pages(site: SiteDev) -> None:
    port = int(site.url.rsplit(":", 1)[1])
    sse = SseReader(port)
    try:
        assert wait_until(lambda: b"retry:" in sse.data)
        (site.root / "public" / "index.html").write_text("<html><body><h1>v2</h1></body></html>")
        assert wait_until(lambda: b"<h1>v2</h1>" in site.get("/").content)
        assert wait_until(lambda: b"event: reload" in sse.data)
        assert b"index.html changed" in sse.data
        site.proc.wait_for(r"Deployed site: 1 uploaded, 0 unchanged")
    finally:
        sse.close()


def test_dev_site_burst_of_500_files_is_at_most_two_reloads(site: SiteDev) -> None:
    before = site.reloads()
    folder = site.root / "public" / "many"
    folder.mkdir()
    # A burst is changes closer together than the bucket's quiet period. On a
    # loaded machine one write can stall longer than that; each such pause may
    # legitimately end a batch, so it allows one more redeploy.
    pauses = 0
    last = time.monotonic()
    for i in range(500):
        (folder / f"f{i}.txt").write_text(f"file {i}\n")
        now = time.monotonic()
        pauses += now - last >= DEV_BUCKET_QUIET_MS / 1000
        last = now
    assert wait_until(lambda: site.get("/many/f499.txt").status_code == 200, timeout=10)
    assert wait_until(lambda: site.reloads() > before)
    time.sleep(0.5)  # negative check, bounded: no further redeploy trails the burst
    assert site.reloads() - before <= 2 + pauses
    missing: list[Any] = [
        i for i in range(500) if site.get(f"/many/f{i}.txt").text != f"file {i}\n"
    ]
    assert missing == []


def test_dev_site_noise_in_bucket_is_ignored(site: SiteDev) -> None:
    before = site.reloads()
    for folder in (".git", ".edgeworks", "__pycache__", "node_modules"):
        (site.root / "public" / folder).mkdir(exist_ok=True)
        (site.root / "public" / folder / "x.html").write_text("x")
    (site.root / "public" / "index.html.swp").write_text("x")
    (site.root / "public" / "about.html").write_text("<p>about</p>")
    assert wait_until(lambda: site.get("/about").status_code == 200)
    status = site.get("/__edgeworks/status").json()
    assert status["reloads"] == before + 1
    assert status["last_trigger"] == "public/about.html changed"
