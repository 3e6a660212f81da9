"""Every KV limit and message (spec/kv.md §2), as named constants with units."""

from __future__ import annotations

# --- edge cache ---------------------------------------------------------------
DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024  # bytes a location's read cache may hold
CACHE_ENTRY_OVERHEAD_BYTES = 128  # bytes counted per cached key on top of key+value+metadata
DEFAULT_CACHE_TTL = 60  # seconds a location serves a cached read (Workers KV default)
MIN_CACHE_TTL = 30  # seconds; a smaller cache_ttl is a 400
CACHE_PENDING_READS_MAX = 100_000  # in-flight cache misses tracked per location before the table resets

# --- redis store (kv/backends/redis.py) ---------------------------------------
REDIS_CONNECT_TIMEOUT = 1.0  # seconds to open a connection before StoreUnavailable
REDIS_SOCKET_TIMEOUT = 2.0  # seconds to wait for a reply before StoreUnavailable
REDIS_RETRIES = 1  # extra attempts after a connection error (writes are idempotent SETs)
REDIS_RETRY_BACKOFF_CAP = 0.2  # seconds; longest pause between attempts
REDIS_RETRY_BACKOFF_BASE = 0.05  # seconds; first pause between attempts
REDIS_HEALTH_CHECK_INTERVAL = 30  # seconds a pooled connection may idle before a PING
REDIS_NATIVE_TTL_MARGIN = 300  # seconds added to a native PEXPIREAT beyond the KV expiration
REDIS_LIST_BATCH_MIN = 16  # index members fetched per round trip when filling a list page
REDIS_STREAM_SNAPSHOT_TTL = 600  # seconds a value snapshot taken for streaming may live
REDIS_DELETE_BATCH = 500  # keys removed per round trip by delete_namespace

# --- pub/sub invalidation (kv/invalidation.py) --------------------------------
INVALIDATION_CHANNEL = "ew:invalidate"  # Redis channel carrying (origin, namespace, keys)
INVALIDATION_RETRY_MIN = 0.1  # seconds before the first resubscribe attempt
INVALIDATION_RETRY_MAX = 2.0  # seconds; longest pause between resubscribe attempts
