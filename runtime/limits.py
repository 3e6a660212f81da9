"""Every runtime limit and default (docs/runtime.md, "Limits"), as named constants with units.

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
DEFAULT_MAX_HEADER_BYTES = 64 * 1024  # bytes of request line + headers per request (431 over it)
DEFAULT_MAX_HEADERS = 100  # header fields per request (431 over it)
DEFAULT_HEADER_TIMEOUT_MS = 10_000  # ms a request's head may take to arrive; then the socket closes
DEFAULT_MAX_CONNECTIONS = 1000  # open connections per process (then the oldest slow one goes)
FD_RESERVE = 64  # file descriptors per process kept for the store, files and logs
DEFAULT_QUEUE_WALL_MS = 900_000  # ms one queue batch (handler + wait_until) may take (15 min)

# --- local state ---------------------------------------------------------------
STATE_DIR = ".edgeworks/state"  # local state (the default SQLite store), under the project root
KV_SQLITE_FILENAME = "kv.sqlite3"  # the SQLite store's file in STATE_DIR or --persist-to DIR

# --- runtime: dispatch, limits, serve ----------------------------------------
WORKER_MODULE_PREFIX = "_edgeworks_worker_"  # unique module names of loaded workers
CPU_CHECK_INTERVAL_MS = 20  # ms between watchdog checks at most (also cpu_ms / 4)
CPU_INTERRUPT_SIGNAL = "SIGUSR2"  # signal the watchdog sends to the loop thread
WALL_CHECK_MIN_MS = 5  # the wall limit is checked every wall_ms / 20 ms, at least this often...
WALL_CHECK_MAX_MS = 100  # ... and at most this long apart (precision of the 504)
CANCEL_GRACE_MS = 1000  # ms a cancelled handler may keep awaiting (cleanup) before it is closed
SERVE_DEFAULT_HOST = "127.0.0.1"
SERVE_DEFAULT_PORT = 8787
ACCESS_LOG_FLUSH_S = 0.1  # s an access-log line may wait in the buffer before it is written
ACCESS_LOG_MAX_LINES = 1000  # buffered access-log lines that force a write at once
HEALTH_PATH = "/__edgeworks/health"  # answers 200 in serve and dev
DEV_PATH_PREFIX = "/__edgeworks/"  # everything else below it is dev-only (404 in serve)
HOP_BY_HOP_HEADERS = frozenset(  # never forwarded either way (RFC 9110 §7.6.1)
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

# --- serve: process supervision and HUP reload (runtime/supervisor.py) -----------------
RELOAD_READY_TIMEOUT_S = 30.0  # s a new process may take to start serving before a reload fails
DRAIN_IDLE_GRACE_S = 2.0  # s a draining process keeps idle keep-alive connections open
DRAIN_SIGNAL = "SIGUSR1"  # the parent tells an old process to drain and exit
SUPERVISE_POLL_S = 0.1  # s between the parent's checks of signals and processes
RESPAWN_DELAY_S = 0.5  # s before a process that died on its own is replaced
STOP_MARGIN_S = 5.0  # s past the graceful shutdown before a process that hangs is killed
MSG_RELOAD_CONFIG = "reload failed, the old processes keep serving: {error}"
MSG_RELOAD_FAILED = (
    "reload failed, the old processes keep serving: a new process did not start serving "
    "({detail}; its error is logged above)"
)
MSG_RELOADED = "reloaded: new processes {pids} serve, the old ones drain"

# --- metrics (runtime/metrics.py) -----------------------------------------------------
METRICS_PATH = "/__edgeworks/metrics"  # Prometheus text format; dev, and serve --metrics
METRICS_FLUSH_S = 1.0  # s between snapshots each serve process writes for the others
#: upper bounds (s) of the request latency histogram
REQUEST_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

# --- runtime messages ---------------------------------------------------------------
MSG_CPU_EXCEEDED = "Worker exceeded CPU time limit"  # 503
MSG_WALL_EXCEEDED = "Worker exceeded wall time limit"  # 504
MSG_BODY_TOO_LARGE = "Request body too large: {size} bytes exceeds limit of {limit} bytes"  # 413
MSG_SUBREQUESTS = (
    "Too many subrequests: this request made {count} fetch calls; "
    "the limit is {limit} ([limits] subrequests)"
)
MSG_BAD_RETURN = (
    "handle_request returned {type}; it must return a starlette Response "
    "(any subclass) or an httpx.Response from fetch()"
)
MSG_BAD_STATUS = "handle_request returned status {status!r}; a status must be 100-599"
MSG_BAD_HEADER_NAME = (
    "handle_request returned a header named {name!r}, which is not a valid header name"
)
MSG_BAD_HEADER_VALUE = (
    "handle_request returned header {name!r} with value {value!r}: header values may not "
    "contain CR, LF or other control characters"
)
MSG_CONFIG_TOO_DEEP = (
    "invalid TOML: values are nested too deeply (arrays or tables inside each other "
    "hundreds of levels deep); flatten them"
)
MSG_HEADER_TOO_LARGE = (
    "request line and headers over the {limit} byte limit ([limits] max_header_bytes)"
)
MSG_HEADER_FIELDS = "more than {limit} header fields ([limits] max_headers)"
MSG_INTERNAL_ERROR = "Internal Server Error"  # serve: generic body, traceback in the log
MSG_STORE_UNAVAILABLE = "Store unavailable"  # 503 body for KVError 503
MSG_NOT_FOUND = "Not Found"
MSG_NO_ORIGIN = (
    'pass_through_on_exception() needs an origin: set origin = "http://..." in edgeworks.toml'
)
MSG_UNKNOWN_BINDING = "env has no binding {name!r}; configured bindings: {bindings}"
MSG_NO_BINDINGS = "env has no binding {name!r}; no bindings are configured"
MSG_WORKER_NOT_FOUND = "{file}: worker file not found"
# edgeworks' own top-level packages: a project module of the same name can never be imported.
EDGEWORKS_TOP_LEVEL = ("cli", "kv", "queues", "runtime", "sites", "workers")
MSG_MODULE_SHADOWED = (
    "{file}: this module is named like edgeworks' own '{name}' package, so "
    "'import {name}' gives edgeworks' package, never this file; rename it "
    "(for example to my_{name}) (see docs/runtime.md)"
)
MSG_WORKER_IMPORT_FAILED = "{file}:{line}: {error}"
MSG_HANDLER_MISSING = (
    "{file}: no handle_request function; define async def handle_request(request, env, ctx)"
)
MSG_HANDLER_NOT_ASYNC = (
    "{file}:{line}: handle_request must be a coroutine function (async def handle_request(...))"
)
MSG_SCHEDULED_NOT_ASYNC = (
    "{file}:{line}: scheduled must be a coroutine function (async def scheduled(event, env, ctx))"
)
MSG_HANDLER_ARITY = (
    "{file}:{line}: handle_request takes {count} positional parameters; "
    "it must take 1, 2 or 3 of (request, env, ctx)"
)
MSG_SCHEDULED_ARITY = (
    "{file}:{line}: scheduled takes {count} positional parameters; "
    "it must take 1, 2 or 3 of (event, env, ctx)"
)
MSG_QUEUE_NOT_ASYNC = (
    "{file}:{line}: queue must be a coroutine function (async def queue(batch, env, ctx))"
)
MSG_QUEUE_ARITY = (
    "{file}:{line}: queue takes {count} positional parameters; "
    "it must take 1, 2 or 3 of (batch, env, ctx)"
)
MSG_NO_QUEUE = (
    "{file}: no queue function, but [[queues.consumers]] consumes {queues}; "
    "define async def queue(batch, env, ctx)"
)
MSG_QUEUE_WALL_EXCEEDED = (
    "Queue consumer exceeded its wall time limit of {limit} ms ([limits] queue_wall_ms)"
)
MSG_NO_SCHEDULED = "{file}: no scheduled function; define async def scheduled(event, env, ctx)"
MSG_BINDING_NOT_SUPPORTED = (
    "env.{name} is a {kind} binding, which edgeworks does not support (see docs/python-workers.md)"
)
MSG_NO_FETCH_HANDLER = (
    "{file}: the worker has no fetch handler: define Default(WorkerEntrypoint).fetch or on_fetch"
)
MSG_MIXED_ENTRYPOINTS = (
    "{file}: {first} and {second} both handle {event}: define one entry point per event "
    "(Default(WorkerEntrypoint), on_{event} or edgeworks' {native})"
)
MSG_WORKERS_SHADOWED = (
    "the 'workers' module is {origin}, not edgeworks' SDK ({expected}): another distribution "
    "shadows it (Cloudflare's workers-runtime-sdk?); uninstall it "
    "(pip uninstall workers-runtime-sdk) or reinstall edgeworks after it"
)
MSG_UNMOCKED_FETCH = (
    "WorkerClient: outbound fetch to {url} is not mocked; pass "
    "transport=httpx.MockTransport(handler) to WorkerClient"
)

# --- dev server (runtime/dev/server.py, runtime/dev/watch.py, runtime/dev/pages.py) ------
DEV_DEFAULT_HOST = "127.0.0.1"
DEV_DEFAULT_PORT = 8787
DEV_WATCH_STEP_MS = 20  # a burst ends after this long without a new change (watchfiles step)
DEV_WATCH_DEBOUNCE_MS = 400  # longest a burst is grouped before it is handed over (watchfiles)
DEV_WATCH_POLL_MS = 50  # watcher thread: how often it checks for a stop request
DEV_WATCH_POLL_DELAY_MS = 300  # --poll: how often the file tree is scanned (watchfiles' default)
DEV_WATCH_RESTART_DELAY_MS = 500  # a crashed watcher thread is restarted after this long
DEV_WATCH_READY_TIMEOUT_S = 2  # startup waits at most this long for the watches to be set up
DEV_CODE_QUIET_MS = 150  # code/config: a save after this long idle reloads at once, a burst's rest after this long quiet
DEV_CODE_MAX_WAIT_MS = 400  # ... or at most this long after the first one
DEV_BUCKET_QUIET_MS = 300  # bucket changes: redeploy after this long without a new change
DEV_BUCKET_MAX_WAIT_MS = 2000  # ... or at most this long after the first one
DEV_LOAD_SETTLE_MS = 60  # a failed load is retried once the changed files stop changing
DEV_LOAD_RETRIES = 5  # at most this many retries of one failed load
DEV_GRACEFUL_SHUTDOWN_S = 1  # open SSE/streaming responses are cut after this long on Ctrl-C
DEV_SSE_PING_S = 15  # live-reload stream keep-alive comment interval
DEV_OLD_GENERATION_GRACE_S = 10  # s a request may keep running on replaced code (streams)
INIT_TEMPLATES = (
    "hello",
    "counter",
    "site",
    "queue",
    "python-worker",
)  # `edgeworks init --template` choices; first is the default
