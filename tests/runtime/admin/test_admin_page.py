"""The data browser page in Chromium: load, counts, prefix search, paging through
2,500 keys, edit value/metadata/TTL, delete with confirmation, bulk upload,
previews, a phone-sized screen; every result checked through the API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from runtime.admin import Guard
from tests.browser_support import PHONE, page_errors, watch
from tests.runtime.admin.admin_support import SHORT, Served, serve_admin

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b5e6b40000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve_admin("memory://", bindings={"COUNTER": "counter"}) as served:
        items = [{"key": f"user:{i:04}", "value": f"v{i}"} for i in range(2500)]
        items += [{"key": "other:a", "value": "first"}, {"key": "other:b", "value": "x"}]
        httpx.put(f"{served.url}{SHORT}/counter/bulk", json=items).raise_for_status()
        yield served


def api(served: Served, path: str) -> httpx.Response:
    return httpx.get(f"{served.url}{SHORT}/counter{path}")


def open_counter(page: Page, served: Served) -> None:
    """Load the page, check COUNTER's key count against the API, open it."""
    count = len(_all_keys(served))
    page.goto(f"{served.url}/__edgeworks/")
    button = page.locator("#namespaces button", has_text="COUNTER")
    expect(button.locator(".count")).to_have_text(f"{count} keys")
    button.click()
    expect(page.locator("#keys tbody tr")).to_have_count(100)


def row_names(page: Page) -> list[str]:
    return page.locator("#keys tbody tr td:first-child").all_inner_texts()


def test_page_loads_with_counts_and_searches_by_prefix(page: Page, served: Served) -> None:
    open_counter(page, served)
    assert page.title() == "edgeworks data"
    page.fill("#prefix", "other:")
    page.click("#search button[type=submit]")
    expect(page.locator("#keys tbody tr")).to_have_count(2)
    assert row_names(page) == ["other:a", "other:b"]
    expect(page.locator("#next")).to_be_disabled()


def test_page_pages_through_2500_keys(page: Page, served: Served) -> None:
    open_counter(page, served)
    page.select_option("#page-size", "1000")
    expect(page.locator("#keys tbody tr")).to_have_count(1000)
    current = row_names(page)
    seen = list(current)
    while page.locator("#next").is_enabled():
        page.click("#next")
        # The next page is shown once its first row is not this page's first row (the
        # old page's last row is never its first: comparing with it waited for nothing).
        expect(page.locator("#keys tbody tr").first).not_to_have_text(current[0])
        current = row_names(page)
        seen += current
    expected = [str(k["name"]) for k in _all_keys(served)]
    # Compared by hand: pytest's diff of two 2,500-item lists takes minutes.
    first_difference = next(
        (i for i, (a, b) in enumerate(zip(seen, expected, strict=False)) if a != b), None
    )
    assert first_difference is None, (first_difference, seen[first_difference or 0])
    assert len(seen) == len(expected) >= 2502
    page.click("#prev")
    expect(page.locator("#page-label")).to_contain_text("page 2")


def _all_keys(served: Served) -> list[dict[str, object]]:
    keys: list[dict[str, object]] = []
    cursor = ""
    while True:
        body = api(served, f"/keys?cursor={cursor}").json()
        keys += body["result"]
        cursor = body["result_info"]["cursor"]
        if not cursor:
            return keys


def test_page_edits_value_metadata_and_ttl(page: Page, served: Served) -> None:
    open_counter(page, served)
    page.fill("#prefix", "other:a")
    page.click("#search button[type=submit]")
    page.click("#keys tbody tr >> text=other:a")
    expect(page.locator("#detail-value")).to_have_text("first")
    page.click("#edit-key")
    page.fill("#edit-value", '{"edited": true}')
    page.fill("#edit-metadata", '{"by": "page"}')
    page.fill("#edit-ttl", "300")
    page.click("#edit-save")
    expect(page.locator("#detail-kind")).to_have_text("(JSON)")
    value = api(served, "/values/other:a")
    assert value.content == b'{"edited": true}'
    assert abs(int(value.headers["expiration"]) - (time.time() + 300)) < 30
    assert api(served, "/metadata/other:a").json()["result"] == {"by": "page"}
    # A bad TTL is refused with KV's message, shown in the editor; nothing changes.
    page.click("#edit-key")
    page.fill("#edit-ttl", "30")
    page.click("#edit-save")
    expect(page.locator("#edit-error")).to_contain_text("Expiration TTL must be at least 60")
    page.click("#edit-cancel")
    assert api(served, "/values/other:a").content == b'{"edited": true}'


def test_page_deletes_only_after_confirmation(page: Page, served: Served) -> None:
    httpx.put(f"{served.url}{SHORT}/counter/values/doomed", content=b"x").raise_for_status()
    open_counter(page, served)
    page.fill("#prefix", "doomed")
    page.click("#search button[type=submit]")
    page.click("#keys tbody tr >> text=doomed")
    page.click("#delete-key")
    expect(page.locator("#confirm")).to_be_visible()
    page.click("#confirm-no")
    assert api(served, "/values/doomed").status_code == 200
    page.click("#delete-key")
    page.click("#confirm-yes")
    expect(page.locator("#status")).to_have_text("Deleted doomed.")
    assert api(served, "/values/doomed").json()["errors"][0]["code"] == 10009
    expect(page.locator("#keys tbody tr")).to_have_count(0)


def test_page_creates_keys_and_uploads_a_bulk_file(
    page: Page, served: Served, tmp_path: Path
) -> None:
    open_counter(page, served)
    page.click("#new-key")
    page.fill("#edit-name", "made:by-page")
    page.fill("#edit-value", "hello")
    page.click("#edit-save")
    expect(page.locator("#detail-key")).to_have_text("made:by-page")
    assert api(served, "/values/made:by-page").content == b"hello"
    bulk = tmp_path / "bulk.json"
    bulk.write_text(json.dumps([{"key": f"bulk:{i}", "value": str(i)} for i in range(3)]))
    page.set_input_files("#bulk-file", str(bulk))
    expect(page.locator("#status")).to_have_text("Uploaded 3 key(s) from bulk.json.")
    assert api(served, "/values/bulk:2").content == b"2"


def test_page_previews_images_and_bytes_on_a_phone(browser: object, served: Served) -> None:
    httpx.put(f"{served.url}{SHORT}/counter/values/pic.png", content=PNG).raise_for_status()
    httpx.put(f"{served.url}{SHORT}/counter/values/raw", content=b"\xff\x00\x01").raise_for_status()
    context = browser.new_context(viewport=PHONE)  # type: ignore[attr-defined]
    page = context.new_page()
    watch(page)
    try:
        page.goto(f"{served.url}/__edgeworks/")
        page.click("#namespaces button >> text=COUNTER")
        page.fill("#prefix", "pic")
        page.click("#search button[type=submit]")
        page.click("#keys tbody tr >> text=pic.png")
        expect(page.locator("#detail-value img")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.fill("#prefix", "raw")
        page.click("#search button[type=submit]")
        page.click("#keys tbody tr >> text=raw")
        expect(page.locator("#detail-value")).to_have_text("3 bytes: ff 00 01")
        assert page_errors(page) == []
    finally:
        context.close()


def test_page_with_a_token_uses_the_browsers_basic_auth(browser: object) -> None:
    with serve_admin("memory://", Guard(token="s3cret"), bindings={"DATA": "data"}) as served:
        for credentials in (None, {"username": "me", "password": "wrong"}):
            context = browser.new_context(http_credentials=credentials)  # type: ignore[attr-defined]
            try:
                # Chromium either gives up on the credentials or shows the 401 itself.
                try:
                    response = context.new_page().goto(f"{served.url}/__edgeworks/")
                    status = None if response is None else response.status
                except PlaywrightError as err:
                    assert "ERR_INVALID_AUTH_CREDENTIALS" in str(err)
                    status = 401
                assert status == 401, credentials
            finally:
                context.close()
        context = browser.new_context(  # type: ignore[attr-defined]
            http_credentials={"username": "me", "password": "s3cret"}
        )
        page = context.new_page()
        watch(page)
        try:
            page.goto(f"{served.url}/__edgeworks/")
            button = page.locator("#namespaces button", has_text="DATA")
            expect(button.locator(".count")).to_have_text("0 keys")
            button.click()
            expect(page.locator("#empty")).to_be_visible()
            assert page_errors(page) == []
        finally:
            context.close()


def test_page_queues_view_sends_and_purges(page: Page, tmp_path: Path) -> None:
    from queues import open_queue_store
    from runtime.config import load_config
    from tests.runtime.admin.test_admin_queues import CONFIG

    (tmp_path / "edgeworks.toml").write_text(CONFIG)
    config = load_config(None, cwd=tmp_path)
    queue_store = open_queue_store("memory://")
    with serve_admin("memory://", queue_store=queue_store, config=config) as served:
        queues = f"{served.url}/__edgeworks/api/queues"

        def ready() -> int:
            rows = httpx.get(queues).json()["result"]
            return int(next(r["ready"] for r in rows if r["name"] == "jobs"))

        page.goto(f"{served.url}/__edgeworks/")
        page.click("#queues-tab")
        jobs = page.locator("#queues tbody tr", has_text="jobs").first
        expect(jobs).to_be_visible()
        expect(page.locator("#queues tbody tr")).to_have_count(2)
        jobs.locator("text=Send…").click()
        page.fill("#send-body", '{"hello": "queue"}')
        page.click("#send-submit")
        expect(page.locator("#status")).to_have_text("Sent a message to jobs.")
        expect(jobs.locator("td").nth(1)).to_have_text("1")
        assert ready() == 1
        jobs.locator("text=Purge").click()
        page.click("#confirm-no")
        assert ready() == 1
        jobs.locator("text=Purge").click()
        page.click("#confirm-yes")
        expect(page.locator("#status")).to_have_text("Purged 1 message(s) from jobs.")
        assert ready() == 0
