"""Every KV limit and message (spec/kv.md §2), as named constants with units."""

from __future__ import annotations

# --- edge cache ---------------------------------------------------------------
DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024  # bytes a location's read cache may hold
CACHE_ENTRY_OVERHEAD_BYTES = 128  # bytes counted per cached key on top of key+value+metadata
DEFAULT_CACHE_TTL = 60  # seconds a location serves a cached read (Workers KV default)
MIN_CACHE_TTL = 30  # seconds; a smaller cache_ttl is a 400
