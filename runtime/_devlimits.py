"""Dev-server timings (moved into runtime/limits.py once that module exists)."""

from __future__ import annotations

DEV_DEFAULT_HOST = "127.0.0.1"
DEV_DEFAULT_PORT = 8787
DEV_WATCH_STEP_MS = 20  # a burst ends after this long without a new change (watchfiles step)
DEV_WATCH_DEBOUNCE_MS = 400  # longest a burst is grouped before it is handed over (watchfiles)
DEV_WATCH_POLL_MS = 100  # watcher thread: how often it checks for a stop request
DEV_WATCH_RESTART_DELAY_MS = 500  # a crashed watcher thread is restarted after this long
DEV_WATCH_READY_TIMEOUT_S = 2  # startup waits at most this long for the watches to be set up
DEV_CODE_QUIET_MS = 50  # code/config changes: reload after this long without a new change
DEV_CODE_MAX_WAIT_MS = 400  # ... or at most this long after the first one
DEV_BUCKET_QUIET_MS = 300  # bucket changes: redeploy after this long without a new change
DEV_BUCKET_MAX_WAIT_MS = 2000  # ... or at most this long after the first one
DEV_LOAD_SETTLE_MS = 60  # a failed load is retried once the changed files stop changing
DEV_LOAD_RETRIES = 5  # at most this many retries of one failed load
DEV_GRACEFUL_SHUTDOWN_S = 1  # open SSE/streaming responses are cut after this long on Ctrl-C
DEV_SSE_PING_S = 15  # live-reload stream keep-alive comment interval
