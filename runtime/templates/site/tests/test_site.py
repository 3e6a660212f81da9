from pathlib import Path

from runtime.testing import WorkerClient

PROJECT = Path(__file__).resolve().parent.parent


async def test_home_page():
    async with WorkerClient(config=PROJECT / "edgeworks.toml") as client:
        r = await client.get("/")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert "Hello from the edge" in r.text


async def test_pretty_urls_and_redirects():
    async with WorkerClient(config=PROJECT / "edgeworks.toml") as client:
        assert (await client.get("/about")).status_code == 200
        r = await client.get("/about.html")
        assert (r.status_code, r.headers["location"]) == (307, "/about")
        r = await client.get("/home")
        assert (r.status_code, r.headers["location"]) == (301, "/")


async def test_assets_are_cached_and_revalidated():
    async with WorkerClient(config=PROJECT / "edgeworks.toml") as client:
        r = await client.get("/css/style.css")
        assert r.headers["cache-control"] == "public, max-age=3600, must-revalidate"
        again = await client.get("/css/style.css", headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304


async def test_missing_page_uses_404_html():
    async with WorkerClient(config=PROJECT / "edgeworks.toml") as client:
        r = await client.get("/no/such/page")
        assert r.status_code == 404
        assert "Not found" in r.text
