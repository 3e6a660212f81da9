"""A FastAPI app through ``asgi.fetch`` and a Django app through ``workers.wsgi`` in a
``Default(WorkerEntrypoint)`` worker with a wrangler config (fastapi and django are
test dependencies only)."""

from __future__ import annotations

from pathlib import Path

from runtime.testing import WorkerClient

FASTAPI_WORKER = """\
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from workers import WorkerEntrypoint
import asgi  # Cloudflare's top-level alias of workers.asgi


@asynccontextmanager
async def lifespan(app):
    yield {"started": "yes"}


app = FastAPI(lifespan=lifespan)


@app.get("/")
async def root():
    return {"message": "This is an example of FastAPI"}


@app.get("/hi/{name}")
async def say_hi(name: str):
    return {"message": f"Hello, {name}!"}


@app.get("/env")
async def env(req: Request):
    return {"message": req.scope["env"].MESSAGE, "started": req.state.started}


@app.post("/echo")
async def echo(req: Request):
    return {"got": await req.json()}


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await asgi.fetch(app, request.js_object, self.env)
"""

DJANGO_WORKER = """\
from django.conf import settings

settings.configure(
    DEBUG=False,
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    SECRET_KEY="test-only",
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
)

from django.core.wsgi import get_wsgi_application
from django.http import JsonResponse
from django.urls import path
from workers import WorkerEntrypoint
from workers import wsgi


def hello(request):
    env = request.environ["workers.env"]
    return JsonResponse({"message": "Hello from Django on Cloudflare Workers!", "var": env.MESSAGE})


def missing(request):
    return JsonResponse({"error": "TODO not found."}, status=404)


urlpatterns = [path("", hello), path("missing/", missing)]
application = get_wsgi_application()


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await wsgi.fetch(application, request, self.env)
"""

CONFIG = '{"name": "fw", "main": "src/entry.py", "vars": {"MESSAGE": "My env var"}}'


def _project(root: Path, source: str) -> Path:
    (root / "src").mkdir()
    (root / "src" / "entry.py").write_text(source)
    (root / "wrangler.jsonc").write_text(CONFIG)
    return root / "wrangler.jsonc"


async def test_fastapi_through_asgi_fetch(tmp_path: Path) -> None:
    async with WorkerClient(config=_project(tmp_path, FASTAPI_WORKER)) as client:
        root = await client.get("/")
        assert root.json() == {"message": "This is an example of FastAPI"}
        assert root.headers["content-type"] == "application/json"
        assert (await client.get("/hi/Dominik")).json() == {"message": "Hello, Dominik!"}
        env = await client.get("/env")
        assert env.json() == {"message": "My env var", "started": "yes"}
        echoed = await client.post("/echo", json={"a": [1, 2]})
        assert echoed.json() == {"got": {"a": [1, 2]}}
        assert (await client.get("/nope")).status_code == 404


async def test_django_through_wsgi_fetch(tmp_path: Path) -> None:
    async with WorkerClient(config=_project(tmp_path, DJANGO_WORKER)) as client:
        hello = await client.get("/")
        assert hello.status_code == 200 and hello.headers["content-type"] == "application/json"
        assert hello.json() == {
            "message": "Hello from Django on Cloudflare Workers!",
            "var": "My env var",
        }
        missing = await client.get("/missing/")
        assert missing.status_code == 404 and missing.json() == {"error": "TODO not found."}
