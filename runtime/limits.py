"""Every runtime limit and default (spec/dev.md §4), as named constants with units.

``[limits]`` in edgeworks.toml overrides the ``DEFAULT_*`` values; the config
models (``runtime.config``) read their defaults from here.
"""

from __future__ import annotations

# --- [limits] defaults ----------------------------------------------------------
DEFAULT_CPU_MS = 1000  # ms a handler may run without yielding to the event loop
DEFAULT_WALL_MS = 30_000  # ms a whole request may take
DEFAULT_SUBREQUESTS = 50  # fetch() calls per request
DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024  # bytes of request body (100 MiB)
DEFAULT_DRAIN_MS = 30_000  # ms pending wait_until work may run at shutdown

# --- [site] defaults ------------------------------------------------------------
DEFAULT_SITE_KEEP = 2  # manifests whose assets survive a deploy
DEFAULT_SITE_CACHE_CONTROL = "public, max-age=0, must-revalidate"  # Cache-Control of assets

# --- runtime: dispatch, limits, serve (H5) ----------------------------------------
