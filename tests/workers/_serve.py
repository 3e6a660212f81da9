"""Real processes for the proxy workers' end-to-end tests: origins (tests/workers/_origin.py
under uvicorn) and ``edgeworks serve`` on a throwaway project, each stopped by its PID."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kv import KVNamespace, open_store
from tests.support import Proc, edgeworks, free_port

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Origin:
    """A test origin (tests/workers/_origin.py) running in its own uvicorn process."""

    color: str
    url: str
    proc: Proc

    def hits(self) -> int:
        import httpx

        return int(httpx.get(f"{self.url}/__hits", timeout=5).text)


def start_origin(color: str) -> Origin:
    port = free_port()
    proc = Proc(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "_origin:app",
            "--app-dir",
            str(HERE),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env={"ORIGIN_COLOR": color},
    )
    proc.wait_for("Uvicorn running on")
    return Origin(color, f"http://127.0.0.1:{port}", proc)


def toml_value(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


async def seed(store_url: str, namespace_id: str, items: Mapping[str, str]) -> None:
    """Write keys straight into the store, as ``edgeworks kv key put`` does."""
    async with open_store(store_url) as store:
        namespace = KVNamespace(store, namespace_id)
        for key, value in items.items():
            await namespace.put(key, value)


def write_project(
    root: Path, main: Path, vars: Mapping[str, str], bindings: Mapping[str, str]
) -> str:
    """An edgeworks.toml in ``root`` running ``main``; returns the KV store URL."""
    store_url = "sqlite:///" + str(root / "kv.sqlite3").lstrip("/")
    lines = [f"name = {toml_value(root.name)}", f"main = {toml_value(str(main))}", "", "[vars]"]
    lines += [f"{name} = {toml_value(value)}" for name, value in vars.items()]
    for binding, namespace_id in bindings.items():
        lines += ["", "[[kv_namespaces]]", f"binding = {toml_value(binding)}"]
        lines += [f"id = {toml_value(namespace_id)}"]
    lines += ["", "[kv]", f"store = {toml_value(store_url)}"]
    (root / "edgeworks.toml").write_text("\n".join(lines) + "\n")
    return store_url


def start_serve(root: Path) -> tuple[Proc, str]:
    """``edgeworks serve --port 0`` on the project in ``root``; returns it and its URL."""
    proc = edgeworks(
        "serve", "--config", str(root / "edgeworks.toml"), "--port", "0", "--no-access-log"
    )
    match = proc.wait_for(r"Listening on (http://\S+)")
    return proc, match[1]
