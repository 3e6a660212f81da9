#!/usr/bin/env bash
# Static-site serving and deploy benchmarks (bench/README.md, section "Sites").
#   bench/sites_bench.sh                 # 10 s per wrk run, 10,000-file deploy
#   DURATION=3s DEPLOY_FILES=2000 bench/sites_bench.sh   # a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
PYTHON=${PYTHON:-.venv/bin/python}
exec "$PYTHON" bench/sites_bench.py "$@"
