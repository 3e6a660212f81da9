#!/usr/bin/env bash
# HTTP benchmark of `edgeworks serve` beside a plain starlette app and a raw ASGI app
# (uvicorn, uvloop, httptools, no access log), wrk -t1 -c32, two rounds interleaved.
#   bench/http_bench.sh              # 10 s per run
#   DURATION=3s bench/http_bench.sh  # a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
PYTHON=${PYTHON:-.venv/bin/python}
"$PYTHON" bench/http_bench.py "$@"
# Workers: edge_auth turning away unauthorized requests vs the hello worker.
exec "$PYTHON" bench/workers_bench.py "$@"
