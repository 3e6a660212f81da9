"""The built-in static-site worker through the runtime: WorkerClient in-process, a user
worker that mounts AssetHandler on some paths, and `edgeworks serve` as a real process."""

from __future__ import annotations

from pathlib import Path

import httpx

from runtime.testing import WorkerClient
from sites import deploy
from tests.support import edgeworks, free_port

PAGES: dict[str, str] = {
    "index.html": "<h1>home</h1>",
    "about.html": "<h1>about</h1>",
    "404.html": "<h1>lost</h1>",
    "css/site.css": "body { margin: 0 }" * 20,
}


def _project(root: Path, *, main: str | None = None) -> Path:
    for rel, text in PAGES.items():
        path = root / "public" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    lines = ['name = "demo"']
    if main:
        lines.append(f'main = "{main}"')
    lines += ["[site]", 'bucket = "public"']
    (root / "edgeworks.toml").write_text("\n".join(lines) + "\n")
    return root / "edgeworks.toml"


async def test_static_site_served_without_main(tmp_path: Path) -> None:
    async with WorkerClient(config=_project(tmp_path)) as client:
        home = await client.get("/")
        assert home.status_code == 200 and home.text == PAGES["index.html"]
        assert home.headers["x-content-type-options"] == "nosniff"
        head = await client.head("/css/site.css")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(PAGES["css/site.css"]))
        assert (await client.post("/about")).status_code == 405
        lost = await client.get("/nowhere")
        assert lost.status_code == 404 and lost.text == PAGES["404.html"]
        part = await client.get("/css/site.css", headers={"Range": "bytes=0-3"})
        assert part.status_code == 206 and part.text == "body"


async def test_static_site_redeploy_in_process_is_live_at_once(tmp_path: Path) -> None:
    async with WorkerClient(config=_project(tmp_path)) as client:
        assert (await client.get("/about")).text == PAGES["about.html"]
        (tmp_path / "public" / "about.html").write_text("<h1>about v2</h1>")
        await deploy(tmp_path / "public", getattr(client.env, "__STATIC_CONTENT"))
        assert (await client.get("/about")).text == "<h1>about v2</h1>"


WORKER = """
from starlette.responses import JSONResponse
from sites import AssetHandler

assets = None

async def handle_request(request, env):
    global assets
    if request.url.path.startswith("/api/"):
        return JSONResponse({"path": request.url.path})
    if assets is None:
        assets = AssetHandler(getattr(env, "__STATIC_CONTENT"))
    return await assets(request)
"""


async def test_user_worker_serves_assets_for_some_paths(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    async with WorkerClient(config=_project(tmp_path, main="worker.py")) as client:
        assert (await client.get("/api/users")).json() == {"path": "/api/users"}
        assert (await client.get("/about")).text == PAGES["about.html"]


def test_static_site_deploy_then_serve_real_process(tmp_path: Path) -> None:
    config = _project(tmp_path)
    store = f"sqlite:///{tmp_path}/kv.sqlite3"
    deploy_run = edgeworks("sites", "deploy", "--config", str(config), "--kv", store, cwd=tmp_path)
    try:
        deploy_run.wait_for(r"4 uploaded, 0 unchanged, 0 deleted, version 1")
        assert deploy_run.wait() == 0
    finally:
        deploy_run.stop()
    port = free_port()
    server = edgeworks(
        "serve",
        "--config",
        str(config),
        "--kv",
        store,
        "--port",
        str(port),
        "--no-access-log",
        cwd=tmp_path,
    )
    try:
        server.wait_for(r"Listening on http://")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            home = http.get("/")
            assert home.status_code == 200 and home.text == PAGES["index.html"]
            etag = home.headers["etag"]
            cached = http.get("/", headers={"If-None-Match": etag})
            assert cached.status_code == 304 and cached.content == b""
            assert cached.headers["etag"] == etag
            size = len(PAGES["css/site.css"])
            head = http.head("/css/site.css")
            assert head.headers["content-length"] == str(len(PAGES["css/site.css"]))
            part = http.get("/css/site.css", headers={"Range": "bytes=-4"})
            assert part.status_code == 206 and part.text == PAGES["css/site.css"][-4:]
            assert part.headers["content-range"] == f"bytes {size - 4}-{size - 1}/{size}"
            assert http.get("/css/site.css", headers={"Range": "bytes=9999-"}).status_code == 416
            redirect = http.get("/about.html", params={"x": "1"})
            assert redirect.status_code == 307 and redirect.headers["location"] == "/about?x=1"
            raw = http.get("/%2e%2e/%2e%2e/etc/passwd")
            assert raw.status_code in (400, 404)
    finally:
        server.stop()
