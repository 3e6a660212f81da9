"""Baseline for bench/sites_bench.py: starlette's StaticFiles over the generated folder
(SITES_BENCH_ROOT), served as the whole ASGI app."""

from __future__ import annotations

import os

from starlette.staticfiles import StaticFiles

app = StaticFiles(directory=os.environ["SITES_BENCH_ROOT"])
