"""Live reload in a real browser (the system's Chromium through Playwright): on a new
site project (``edgeworks init --template site``) under ``edgeworks dev``, edits of
the HTML, the stylesheet and the script each reach the open page, although the
template's ``_headers`` lets browsers cache ``/css/*`` and ``/js/*`` for an hour;
and the page logs no console error (the template has an icon: no favicon 404)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser_support import watch
from tests.support import Proc, edgeworks

SHOWN_TIMEOUT_MS = 10_000  # generous on a loaded box; the figures are printed (-s)


@pytest.fixture
def dev_site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    init = edgeworks("init", str(tmp_path / "s"), "--template", "site")
    assert init.wait(30) == 0, init.output
    root = tmp_path / "s"
    proc: Proc = edgeworks("dev", "--port", "0", cwd=root)
    try:
        url = proc.wait_for(r"Listening on (http://127\.0\.0\.1:\d+)").group(1)
        yield root, url
    finally:
        proc.stop()


def _listening(url: str) -> bool:
    status = httpx.get(f"{url}/__edgeworks/status", timeout=5).json()
    return int(status["live_reload_clients"]) >= 1


def _edit_and_wait(page: Page, url: str, file: Path, old: str, new: str, shown: str) -> float:
    """Edit ``file``, then wait until the open page satisfies the JS expression ``shown``."""
    deadline = time.monotonic() + 10
    while not _listening(url):  # the page's EventSource is connected
        assert time.monotonic() < deadline, "the page never connected to live reload"
        time.sleep(0.02)
    text = file.read_text()
    assert old in text
    began = time.monotonic()
    file.write_text(text.replace(old, new))
    page.wait_for_function(shown, timeout=SHOWN_TIMEOUT_MS)
    return time.monotonic() - began


def test_dev_live_reload_shows_html_css_and_js_edits(
    browser: Browser, dev_site: tuple[Path, str]
) -> None:
    root, url = dev_site
    public = root / "public"
    context = browser.new_context()
    page = context.new_page()
    errors = watch(page)
    page.goto(url)
    assert page.locator("h1").inner_text() == "Hello from the edge"
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).color") == (
        "rgb(243, 128, 32)"
    )
    timings = {
        "html": _edit_and_wait(
            page,
            url,
            public / "index.html",
            "Hello from the edge",
            "Edited at the edge",
            "document.querySelector('h1').textContent === 'Edited at the edge'",
        ),
        "css": _edit_and_wait(
            page,
            url,
            public / "css" / "style.css",
            "h1 { color: #f38020; }",
            "h1 { color: #008000; }",
            "getComputedStyle(document.querySelector('h1')).color === 'rgb(0, 128, 0)'",
        ),
        "js": _edit_and_wait(
            page,
            url,
            public / "js" / "app.js",
            '"served by edgeworks"',
            '"script v2"',
            "document.querySelector('h1').title === 'script v2'",
        ),
    }
    print("edit shown after: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items()))
    context.close()
    # Each reload aborts the old page's live-reload stream: that is navigation, not an error.
    aborted = f"request failed: {url}/__edgeworks/live-reload net::ERR_ABORTED"
    assert [e for e in errors if e != aborted] == []
