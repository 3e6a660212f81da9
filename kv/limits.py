"""Every KV limit and message (docs/kv.md), as named constants with units."""

from __future__ import annotations

# --- edge cache ---------------------------------------------------------------
DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024  # bytes a location's read cache may hold
CACHE_ENTRY_OVERHEAD_BYTES = 128  # bytes counted per cached key on top of key+value+metadata
DEFAULT_CACHE_TTL = 60  # seconds a location serves a cached read (Workers KV default)
MIN_CACHE_TTL = 30  # seconds; a smaller cache_ttl is a 400
CACHE_PENDING_READS_MAX = (
    100_000  # in-flight cache misses tracked per location before the table resets
)

# --- redis store (kv/backends/redis.py) ---------------------------------------
REDIS_CONNECT_TIMEOUT = 1.0  # seconds to open a connection before StoreUnavailable
REDIS_SOCKET_TIMEOUT = 2.0  # seconds to wait for a reply before StoreUnavailable
REDIS_RETRIES = 1  # extra attempts after a connection error (writes are idempotent SETs)
REDIS_RETRY_BACKOFF_CAP = 0.2  # seconds; longest pause between attempts
REDIS_RETRY_BACKOFF_BASE = 0.05  # seconds; first pause between attempts
REDIS_HEALTH_CHECK_INTERVAL = 30  # seconds a pooled connection may idle before a PING
REDIS_NATIVE_TTL_MARGIN = 300  # seconds added to a native PEXPIREAT beyond the KV expiration
REDIS_LIST_BATCH_MIN = 16  # index members fetched per round trip when filling a list page
REDIS_INLINE_MAX_BYTES = 64 * 1024  # values up to this size live in the entry hash (one HMGET)
REDIS_BLOB_GRACE = 600  # seconds a replaced or deleted large value stays readable for streams
REDIS_DELETE_BATCH = 500  # keys removed per round trip by delete_namespace
# Connections: every store (one per process) keeps at most this many commands in flight;
# more concurrent calls wait for a free connection ([kv] max_connections, docs/kv.md).
REDIS_MAX_CONNECTIONS = 64  # default [kv] max_connections / ?max_connections=
REDIS_POOL_TIMEOUT = 10.0  # seconds a call waits for a connection (+ 2 s reply < 30 s wall)
REDIS_PUBSUB_RESERVE = 4  # connections beyond max_connections for pub/sub subscriptions
REDIS_DEFAULT_PORT = 6379  # port of a URL that names none
REDIS_MAX_PORT = 65535
REDIS_CLUSTER_RETRIES = 3  # attempts after MOVED storms, a node down or a failover in progress
REDIS_SCHEMES = ("redis", "rediss", "redis+cluster", "rediss+cluster")  # store URL schemes
REDIS_CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
# Query options a Redis store URL accepts: name -> what is allowed (for the message).
REDIS_URL_OPTIONS = {
    "max_connections": "an integer of at least 1",
    "pool_timeout": "seconds greater than 0",
    "socket_timeout": "seconds greater than 0",
    "socket_connect_timeout": "seconds greater than 0",
    "client_name": "a name without spaces",
}
# TLS options, for rediss:// and rediss+cluster:// only.
REDIS_TLS_OPTIONS = {
    "ssl_cert_reqs": "none, optional or required",
    "ssl_ca_certs": "a file path",
    "ssl_certfile": "a file path",
    "ssl_keyfile": "a file path",
    "ssl_check_hostname": "true or false",
}
MSG_REDIS_URL = "Invalid Redis store URL {url}: {problem}"  # ValueError at config load
MSG_REDIS_POOL_BUSY = "all {size} connections stayed busy for {waited:.2f} s; raise [kv] max_connections"  # StoreUnavailable (503)

# --- sqlite store (kv/backends/sqlite.py) --------------------------------------
SQLITE_BUSY_TIMEOUT = 5.0  # seconds a connection waits for another process's lock
SQLITE_RETRY_BACKOFF_BASE = 0.005  # seconds; first pause before retrying BEGIN IMMEDIATE
SQLITE_RETRY_BACKOFF_CAP = 0.2  # seconds; longest pause between BEGIN IMMEDIATE attempts
SQLITE_SYNCHRONOUS_MODES = ("normal", "full")  # allowed ?synchronous= values; first is default
SQLITE_SWEEP_INTERVAL = 60.0  # seconds between sweeps of expired entries
SQLITE_SWEEP_BATCH = 1000  # expired entries one sweep deletes at most (bounds the write lock)
SQLITE_STREAM_POOL = 4  # idle connections kept for streamed reads of large values
SQLITE_STREAM_CACHE_KIB = 1024  # KiB of page cache per streaming connection (one per stream)
SQLITE_CACHE_KIB = 16 * 1024  # KiB of page cache per connection
SQLITE_JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the WAL keeps after a checkpoint
SQLITE_PARAMS_PER_QUERY = 500  # keys per "key IN (...)" query of a bulk get
SQLITE_GROUP_COMMIT_MAX = 256  # queued writes the writer thread commits in one transaction
SQLITE_BLOB_WRITE_BYTES = 1024 * 1024  # values of at least this size are written in chunks
SQLITE_BLOB_CHUNK_BYTES = 1024 * 1024  # bytes per chunk when writing a large value

# --- pub/sub invalidation (kv/invalidation.py) --------------------------------
INVALIDATION_CHANNEL = "ew:invalidate"  # Redis channel carrying (origin, namespace, keys)
INVALIDATION_SHARD_SUFFIX = (
    b"inv"  # Redis Cluster: sharded channel ew:{ns}:inv, the namespace's slot
)
INVALIDATION_RETRY_MIN = 0.1  # seconds before the first resubscribe attempt
INVALIDATION_RETRY_MAX = 2.0  # seconds; longest pause between resubscribe attempts
INVALIDATION_START_WAIT = 2.0  # seconds serve waits for the first subscription at startup

# --- keys ---------------------------------------------------------------------
MAX_KEY_BYTES = 512  # bytes of a key (or list prefix), UTF-8 encoded; 512 is allowed
RESERVED_KEYS = (".", "..")  # names Workers KV refuses

# --- values and metadata ------------------------------------------------------
MAX_VALUE_BYTES = 25 * 1024 * 1024  # bytes of one value (25 MiB = 26,214,400, inclusive)
MAX_METADATA_BYTES = 1024  # bytes of the compact JSON text of metadata, inclusive

# --- expiration ---------------------------------------------------------------
MIN_EXPIRATION_TTL = 60  # seconds; expiration_ttl and expiration - now must be at least this
# Latest accepted expiration (epoch seconds, 9999-12-31T23:59:59Z): every store can hold it
# and it renders as a date. Workers KV does not document an upper bound.
MAX_EXPIRATION = 253_402_300_799

# --- list ---------------------------------------------------------------------
MAX_LIST_LIMIT = 1000  # keys per list page; also the default (limit <= 0 means this)

# --- bulk get -----------------------------------------------------------------
MAX_BULK_GET_KEYS = 100  # keys per bulk get
MIN_BULK_GET_KEYS = 1  # keys per bulk get
MAX_BULK_GET_BYTES = 25 * 1024 * 1024  # bytes of all values of one bulk get together
BULK_GET_TYPES = ("text", "json")  # response types a bulk get allows

# --- reads --------------------------------------------------------------------
GET_TYPES = ("text", "json", "bytes", "arrayBuffer", "stream")  # response types of get
STREAM_CHUNK_BYTES = 64 * 1024  # bytes per chunk of get(type="stream")
# Values larger than this (bytes) go around the edge cache where copying them would cost:
# a stream read of one is not read whole into the cache on a miss (so a large download
# never holds the whole value in memory), and a put of one drops the cached copy instead
# of caching the new value (the next read at this location fetches it from the store).
LARGE_VALUE_BYTES = 1024 * 1024

# --- optional production limits (off by default) ------------------------------
WRITE_RATE_INTERVAL = 1.0  # seconds between two writes of one key (1 write/s per key)
MAX_OPS_PER_REQUEST = 1000  # KV operations one request may make (a bulk get counts 1)
WRITE_RATE_TRACKED_KEYS = 10_000  # keys remembered before writes older than the interval go

# --- metrics (kv/stats.py) ------------------------------------------------------
#: upper bounds (s) of the store latency histogram; a cache hit makes no store call
STORE_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0)
KIND_GET = "get"  # the operation label of the metrics (OP_LIST reads "GET" in messages)
KIND_GET_BULK = "get_bulk"
KIND_PUT = "put"
KIND_DELETE = "delete"
KIND_LIST = "list"

# --- operations (the METHOD of "KV <METHOD> failed") --------------------------
OP_GET = "GET"
OP_PUT = "PUT"
OP_DELETE = "DELETE"
OP_GET_BULK = "GET_BULK"
OP_LIST = "GET"  # Workers KV reports list failures as GET

# --- messages (format strings; KVError adds "KV <OP> failed: <status> ") ------
MSG_KEY_EMPTY = "Key name cannot be empty."  # TypeError
MSG_KEY_RESERVED = '"{key}" is not allowed as a key name.'  # TypeError
MSG_KEY_NOT_STR = "Key name must be a string, not {type}."  # TypeError
MSG_KEY_TOO_LONG = "UTF-8 encoded length of {length} exceeds key length limit of {limit}."  # 414
MSG_KEY_NOT_UTF8 = "Key name must be valid UTF-8: lone surrogate {char} at index {index}."  # 400
MSG_GET_TYPE = 'Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".'  # TypeError
MSG_PUT_VALUE_TYPE = (
    "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams"
    " as values."
)  # TypeError
MSG_VALUE_NOT_UTF8 = (
    "Value must be valid UTF-8 text: lone surrogate {char} at index {index}."  # 400
)
MSG_VALUE_TOO_LARGE = "Value length of {length} exceeds limit of {limit}."  # 413
MSG_METADATA_TOO_LARGE = "Metadata length of {length} exceeds limit of {limit}."  # 413
MSG_METADATA_NOT_JSON = "Metadata must be JSON-serialisable."  # 400
MSG_TTL_NOT_POSITIVE = "Invalid expiration_ttl of {value}. Please specify integer greater than 0."
MSG_TTL_TOO_SMALL = (
    "Invalid expiration_ttl of {value}. Expiration TTL must be at least {minimum}."  # 400
)
MSG_TTL_TOO_LARGE = (
    "Invalid expiration_ttl of {value}. Expiration times must be at most {maximum}"
    " (9999-12-31T23:59:59Z)."
)  # 400
MSG_EXPIRATION_PAST = (
    "Invalid expiration of {value}. Please specify integer greater than the current number"
    " of seconds since the UNIX epoch."
)  # 400
MSG_EXPIRATION_TOO_SOON = (
    "Invalid expiration of {value}. Expiration times must be at least {minimum} seconds"
    " in the future."
)  # 400
MSG_EXPIRATION_TOO_LARGE = (
    "Invalid expiration of {value}. Expiration times must be at most {maximum}"
    " (9999-12-31T23:59:59Z)."
)  # 400
MSG_CACHE_TTL = "Invalid cache_ttl of {value}. Cache TTL must be at least {minimum}."  # 400
MSG_LIST_LIMIT_TOO_LARGE = "Invalid key_count_limit of {value}. Please specify an integer less than {maximum}."  # 400; Workers' wording: {maximum} itself is allowed
MSG_LIST_LIMIT_NOT_INT = (
    "Invalid key_count_limit of {value}. Please specify an integer greater than 0."  # 400
)
MSG_PREFIX_NOT_STR = "List prefix must be a string or None, not {type}."  # TypeError
MSG_CURSOR_INVALID = "Invalid cursor."  # 400
MSG_BULK_TOO_MANY = "You can request a maximum of {maximum} keys"  # 400
MSG_BULK_TOO_FEW = "You must request a minimum of {minimum} key"  # 400
MSG_BULK_TYPE = '"{type}" is not a valid type. Use "json" or "text"'  # 400
MSG_BULK_NOT_JSON = "At least one of the requested keys corresponds to a non-json value"  # 400
MSG_BULK_TOO_LARGE = "Total size of request exceeds the limit of 25MB"  # 413
MSG_STORE_UNAVAILABLE = "Store unavailable: {detail}"  # 503
MSG_WRITE_RATE = "Too Many Requests"  # 429, with the optional per-key write rate
MSG_TOO_MANY_OPS = "Too many API requests by single worker invocation."  # 429, optional

# --- HTTP statuses of KVError -------------------------------------------------
STATUS_BAD_REQUEST = 400
STATUS_TOO_LARGE = 413
STATUS_URI_TOO_LONG = 414
STATUS_TOO_MANY_REQUESTS = 429
STATUS_UNAVAILABLE = 503

# --- bulk files of `edgeworks kv bulk` (wrangler's JSON format; kv/bulk.py) ---
BULK_PUT_FIELDS = ("key", "value", "expiration", "expiration_ttl", "metadata", "base64")
BULK_KEYS_PER_GET = MAX_BULK_GET_KEYS  # keys per namespace bulk get when a file asks for more
MSG_BULK_FILE_HEADER = "{source}: {count} invalid item(s), nothing was written"
MSG_BULK_FILE_NOT_JSON = "{source}: not valid JSON: {detail}"
MSG_BULK_FILE_NOT_ARRAY = "{source}: must be a JSON array of {shape}, got {type}"
MSG_BULK_PUT_SHAPE = '{"key": ..., "value": ...} objects'
MSG_BULK_KEYS_SHAPE = 'key strings or {"name": ...} objects'
MSG_BULK_ITEM_TYPE = "must be {shape}, got {type}"
MSG_BULK_FIELD_MISSING = "{field} is required"
MSG_BULK_FIELD_TYPE = "{field} must be {expected}, got {type}"
MSG_BULK_BASE64 = "value is not valid base64 (base64 is true)"
MSG_BULK_UNKNOWN_FIELD = "unknown field {field!r} ignored{hint}"
