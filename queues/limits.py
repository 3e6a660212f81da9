"""Every queue limit, default and message, as named constants with units.

Limits and messages follow Cloudflare Queues (docs/queues.md lists them); the
config models (``runtime._config_queues``) read their bounds and defaults here.
"""

from __future__ import annotations

import re

# --- messages and batches (producer side) ---------------------------------------
MAX_MESSAGE_BYTES = 128_000  # bytes of one serialized body (128 KB, 1 KB = 1000 B), inclusive
MAX_BATCH_MESSAGES = 100  # messages per send_batch
MAX_BATCH_BYTES = 256_000  # bytes of all serialized bodies of one send_batch, inclusive
MAX_DELAY_SECONDS = 86_400  # seconds; delay_seconds, delivery_delay and retry_delay (24 h)
CONTENT_TYPES = ("json", "text", "bytes")  # supported content types; json is the default
DEFAULT_CONTENT_TYPE = "json"
V8_CONTENT_TYPE = "v8"  # a Workers content type with no Python meaning: refused
ID_BYTES = 16  # random bytes of a message id (32 hex characters)

# --- queue names -----------------------------------------------------------------
QUEUE_NAME_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
QUEUE_NAME_RULE = "use 1-63 letters, digits or '-', starting and ending with a letter or digit"

# --- consumer settings ([[queues.consumers]]): (default, minimum, maximum) -----------
MAX_BATCH_SIZE = (10, 1, 100)  # messages per delivered batch
MAX_BATCH_TIMEOUT = (5.0, 0.0, 60.0)  # seconds after the first ready message
MAX_RETRIES = (3, 0, 100)  # retries after the first delivery (max_retries + 1 deliveries)
RETRY_DELAY = (0, 0, MAX_DELAY_SECONDS)  # seconds before a retried message comes back
MAX_CONCURRENCY = (1, 1, 250)  # batches of one queue in flight, across all processes
VISIBILITY_TIMEOUT = (900, 1, 43_200)  # seconds a delivered batch is leased
DELIVERY_DELAY = (0, 0, MAX_DELAY_SECONDS)  # seconds; a producer's default send delay

# --- [queues] -------------------------------------------------------------------------
RETENTION = (345_600, 60, 1_209_600)  # seconds a message is kept, delivered or not (4 d)

# --- the consumer engine -----------------------------------------------------------
POLL_INTERVAL = 0.05  # seconds between looks at the store when nothing woke the loop
STORE_RETRY_INTERVAL = 1.0  # seconds a consumer waits after the store was unavailable
SWEEP_INTERVAL = 60.0  # seconds between retention sweeps
SWEEP_BATCH = 1000  # messages one sweep step deletes at most (bounds the write lock)
REDIS_SCAN_BATCH = 500  # stream entries or delayed messages one Redis round trip looks at
LOGGER_NAME = "edgeworks.queues"

# --- operations (the "<op>" of "Queue <op> failed") ----------------------------------
OP_SEND = "send"
OP_SEND_BATCH = "sendBatch"
OP_METRICS = "metrics"

# --- messages: TypeError, verbatim from workerd ("undefined" reads "None") ----------
MSG_BODY_NONE = "Message body cannot be None"
MSG_BATCH_EMPTY = "sendBatch() requires at least one message"
MSG_CONTENT_TYPE = "Unsupported queue message content type: {type}"
MSG_TEXT_TYPE = 'Content Type "text" requires a value of type string, but received: {type}'
MSG_BYTES_TYPE = (
    'Content Type "bytes" requires a value of type ArrayBufferView, but received: {type}'
)
MSG_JSON_TYPE = 'Content Type "json" requires a JSON-serialisable value: {detail}'
MSG_BATCH_ITEM = (
    "sendBatch() messages must be dicts with a 'body' key "
    "(and optional 'content_type', 'delay_seconds'), got {type}"
)
MSG_OPTION_UNKNOWN = "Unknown {where} option {name!r}: allowed {allowed}"

# --- messages: QueueError ("Queue <op> failed: " + message), Miniflare's wording ------
MSG_MESSAGE_TOO_LARGE = "message length of {size} bytes exceeds limit of {limit}"  # 413
MSG_BATCH_TOO_MANY = "batch message count of {count} exceeds limit of {limit}"  # 413
MSG_BATCH_MESSAGE_TOO_LARGE = "message in batch has length {size} bytes which exceeds single message size limit of {limit}"  # 413
MSG_BATCH_TOO_LARGE = "batch size of {size} bytes exceeds limit of {limit}"  # 413
MSG_DELAY_INVALID = (
    "message delay {value!r} is invalid: must be an integer from 0 to {maximum} seconds"  # 400
)
MSG_BATCH_DELAY_INVALID = (
    "batch delay {value!r} is invalid: must be an integer from 0 to {maximum} seconds"  # 400
)
MSG_QUEUE_NAME = "queue name {name!r} is invalid: " + QUEUE_NAME_RULE  # 400
MSG_STORE_UNAVAILABLE = "Store unavailable: {detail}"  # 503

# --- messages: retry() and retryAll() delays ----------------------------------------
MSG_RETRY_DELAY_INVALID = (
    "retry delay {value!r} is invalid: must be an integer from 0 to {maximum} seconds"
)

# --- warnings of the ack/retry precedence rules, verbatim from workerd ------------------
WARN_RETRY_AFTER_ACK_ALL = (
    "Received a call to retry() on message {id} after ackAll() was already called. "
    "Calling retry() on a message after calling ackAll() has no effect."
)
WARN_RETRY_AFTER_ACK = (
    "Received a call to retry() on message {id} after ack() was already called. "
    "Calling retry() on a message after calling ack() has no effect."
)
WARN_ACK_AFTER_RETRY_ALL = (
    "Received a call to ack() on message {id} after retryAll() was already called. "
    "Calling ack() on a message after calling retryAll() has no effect."
)
WARN_ACK_AFTER_RETRY = (
    "Received a call to ack() on message {id} after retry() was already called. "
    "Calling ack() on a message after calling retry() has no effect."
)
WARN_RETRY_ALL_AFTER_ACK_ALL = (
    "Received a call to retryAll() after ackAll() was already called. "
    "Calling retryAll() after calling ackAll() has no effect."
)
WARN_ACK_ALL_AFTER_RETRY_ALL = (
    "Received a call to ackAll() after retryAll() was already called. "
    "Calling ackAll() after calling retryAll() has no effect."
)

# --- log lines of exhausted messages (Miniflare's wording) ------------------------------
LOG_DEAD_LETTERED = (
    'Moving message "{id}" on queue "{queue}" to dead letter queue "{dlq}" '
    "after {attempts} failed attempts..."
)
LOG_DROPPED = 'Dropped message "{id}" on queue "{queue}" after {attempts} failed attempts!'
LOG_HANDLER_FAILED = 'Queue "{queue}": the handler failed a batch of {count}; retrying: {error}'
LOG_RETENTION = "Queues: dropped {count} message(s) older than the retention of {seconds} s"

# --- HTTP statuses of QueueError ---------------------------------------------------------
STATUS_BAD_REQUEST = 400
STATUS_TOO_LARGE = 413
STATUS_UNAVAILABLE = 503
