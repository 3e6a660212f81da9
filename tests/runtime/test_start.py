"""What starting `edgeworks serve` imports: the machinery of features the project does
not configure stays unloaded (each of these cost a start 5-30 ms)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import REPO_ROOT

NOT_AT_START = [
    "croniter",  # [triggers] crons
    "httpx",  # the first fetch()
    "prometheus_client",  # the first scrape of serve --metrics
    "queues.backends",  # [queues]
    "queues.engine",
    "redis",  # a redis:// store
    "rich",  # CLI progress and tables
    "sites.deploy",  # [site] / sites deploy
    "websockets",  # workers speak HTTP only
]

SCRIPT = """
import json, sys
from runtime.serve import ServeOptions, build_app, load_serve_config, serve_uvicorn_config
import runtime.supervisor
options = ServeOptions(overrides={"kv.store": "memory"}, metrics=True)
config = load_serve_config(options)
app = build_app(config, options)
serve_uvicorn_config(app, config).load()
print(json.dumps(sorted(sys.modules)))
"""


def test_start_serve_imports_no_unconfigured_feature(tmp_path: Path) -> None:
    (tmp_path / "edgeworks.toml").write_text('name = "s"\nmain = "worker.py"\n')
    (tmp_path / "worker.py").write_text(
        "from starlette.responses import PlainTextResponse\n\n"
        "async def handle_request(request):\n    return PlainTextResponse('hi')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = set(json.loads(out))
    assert "runtime.app" in loaded  # the script did build the app
    assert [name for name in NOT_AT_START if name in loaded] == []
