"""A real browser for tests: the system's Chromium driven by Playwright.

Nothing is downloaded: Playwright launches ``/usr/bin/chromium`` (``.ci/run``
installs the ``chromium`` package when it is missing; ``EDGEWORKS_CHROMIUM``
names another binary). Fixtures (module-scoped browser, so Playwright's own
event loop never overlaps the async tests of other modules):

- ``browser``: one headless Chromium per test module;
- ``page``: a fresh context and page per test; console errors, uncaught page
  errors and failed requests are collected in ``page_errors(page)`` and fail the
  test at teardown, so every browser test also proves "no console errors".

>>> def test_title(page):
...     page.goto(url)
...     assert page.title() == "edgeworks data"
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("EDGEWORKS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 375, "height": 667}  # a phone-sized viewport (CSS pixels)

_ERRORS = "_edgeworks_errors"


def launch(playwright: object) -> Browser:
    """Chromium from ``CHROMIUM`` with the flags above (no sandbox, no background traffic)."""
    chromium = playwright.chromium  # type: ignore[attr-defined]
    browser: Browser = chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    return browser


def watch(page: Page) -> list[str]:
    """Start collecting ``page``'s console errors, page errors and failed requests."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} {r.failure}"))
    setattr(page, _ERRORS, errors)
    return errors


def page_errors(page: Page) -> list[str]:
    """What ``watch`` collected so far."""
    errors: list[str] = getattr(page, _ERRORS, [])
    return errors


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    errors = watch(page)
    try:
        yield page
    finally:
        context.close()
    assert errors == [], "browser reported errors:\n" + "\n".join(errors)
