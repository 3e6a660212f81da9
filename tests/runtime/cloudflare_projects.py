"""Small Cloudflare Python Workers projects, one per generation of entry point, with a
wrangler.jsonc or a wrangler.toml (written for the tests, not copied from examples)."""

from __future__ import annotations

from pathlib import Path

STYLES = ("js_2024", "handler", "default_class")
CONFIGS = ("wrangler.jsonc", "wrangler.toml")

JSONC = """\
// written as pywrangler init writes it
{
  "$schema": "node_modules/wrangler/config-schema.json",
  "name": "py-worker",
  "main": "src/entry.py",
  "compatibility_date": "2025-11-02",
  "compatibility_flags": ["python_workers"],
  "observability": {"enabled": true},
  "vars": {"MESSAGE": "My env var"},
  "kv_namespaces": [{"binding": "KV", "id": "<YOUR_KV_NAMESPACE_ID>"}],
  "assets": {"directory": "./public", "binding": "ASSETS", "run_worker_first": ["/api/*"]},
  "triggers": {"crons": ["* * * * *"]},
}
"""

TOML = """\
name = "py-worker"
main = "src/entry.py"
compatibility_date = "2025-11-02"
compatibility_flags = ["python_workers"]

[vars]
MESSAGE = "My env var"

[[kv_namespaces]]
binding = "KV"
id = "<YOUR_KV_NAMESPACE_ID>"

[assets]
directory = "./public"
binding = "ASSETS"
run_worker_first = ["/api/*"]

[triggers]
crons = ["* * * * *"]
"""

# The routes every style answers; ``respond`` is the style's way to build a response.
_ROUTES = """\
    path = request.url.split("/", 3)[3].split("?")[0]
    print("handled", path)
    if path == "cron":
        return respond(await env.KV.get("cron") or "no run yet")
    if path == "kv":
        await env.KV.put("foo", "baz")
        return respond(await env.KV.get("foo"))
    if path == "kv-shapes":
        await env.KV.put("n", '{"a": 1}', metadata={"m": 1})
        listed = await env.KV.list({"prefix": "n"})
        first = listed["keys"][0]
        shapes = [
            await env.KV.get("missing"), (await env.KV.get("n", "json"))["a"],
            first["name"], listed.keys[0].metadata["m"], listed["list_complete"],
            (await env.KV.getWithMetadata("n"))["metadata"], "cursor" in listed,
        ]
        return respond(repr(shapes))
    if path == "var":
        return respond(env.MESSAGE)
    if path == "api/static.txt":
        return respond("worker first")
    if path == "via-assets":
        return await env.ASSETS.fetch("http://x/static.txt")
    return respond("Hello world!")
"""

SOURCES = {
    "js_2024": "from js import Response\n\n\ndef respond(text):\n    return Response.new(text)\n\n\n"
    "async def on_fetch(request, env):\n" + _ROUTES + "\n\n"
    "async def on_scheduled(controller, env, ctx):\n"
    "    await env.KV.put('cron', controller.cron)\n",
    "handler": "from workers import Response, handler\n\n\ndef respond(text):\n    return Response(text)\n"
    "\n\n@handler\nasync def on_fetch(request, env, ctx):\n" + _ROUTES + "\n\n@handler\n"
    "async def on_scheduled(controller, env, ctx):\n"
    "    await env.KV.put('cron', controller.cron)\n",
    "default_class": "from workers import Response, WorkerEntrypoint\n\n\ndef respond(text):\n"
    "    return Response(text)\n\n\nclass Default(WorkerEntrypoint):\n"
    "    async def fetch(self, request):\n        env = self.env\n"
    + _ROUTES.replace("\n    ", "\n        ").replace("    path", "        path", 1)
    + "\n    async def scheduled(self, controller, env, ctx):\n"
    "        await env.KV.put('cron', controller.cron)\n",
}


def write_project(root: Path, style: str, config: str) -> Path:
    """A project folder with ``config`` and ``src/entry.py`` in ``style``."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "public" / "api").mkdir(parents=True, exist_ok=True)
    (root / "public" / "static.txt").write_text("from the assets\n")
    (root / "public" / "api" / "static.txt").write_text("an asset the worker shadows\n")
    (root / config).write_text(JSONC if config.endswith(".jsonc") else TOML)
    (root / "src" / "entry.py").write_text(SOURCES[style])
    return root
