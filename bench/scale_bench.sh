#!/usr/bin/env bash
# Scale-out figures: KV-read worker on Redis with 1 and 2 `edgeworks serve`
# processes, the same on SQLite, and write-to-visible-elsewhere latency with pub/sub
# invalidation and with TTL only. Needs redis-server and wrk.
#   bash bench/scale_bench.sh [--seconds 5] [--samples 200] [--ttl-samples 2]
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/scale_bench.py "$@"
