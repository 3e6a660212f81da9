"""Every limit, path, error code and message of the admin API, as named constants.

The KV rules themselves (key, value, metadata, expiration limits and their
messages) are KV's own, in ``kv.limits``; this module holds what the REST shape
adds on top: Cloudflare's error codes, paging, request size and the guard's
messages.
"""

from __future__ import annotations

# --- paths ------------------------------------------------------------------------
ADMIN_PREFIX = "/__edgeworks/"  # the page; everything admin lives below it
PAGE_PATH = "/__edgeworks/"  # the data browser page
ASSETS_PREFIX = "/__edgeworks/assets/"  # the page's script and stylesheet
API_PREFIX = "/__edgeworks/api"  # every API path starts here
CLIENT_V4_PREFIX = "/__edgeworks/api/client/v4"  # the base URL for wrangler and the SDK
SHORT_KV_PREFIX = "/__edgeworks/api/storage/kv/namespaces"  # same handlers, no account
QUEUES_PREFIX = "/__edgeworks/api/queues"  # the queue endpoints (edgeworks' own shape)
PAGE_ASSETS = {  # file under runtime/admin/static -> content type (nothing else is served)
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}

# --- the one account -----------------------------------------------------------------
ACCOUNT_ID = "edgeworks"  # any account id in a URL is accepted; this one is reported
ACCOUNT_NAME_DEFAULT = "edgeworks"  # account name when the project has no name
USER_ID = "edgeworks-admin"
USER_EMAIL = "admin@edgeworks.localhost"  # shown by `wrangler whoami`
TOKEN_ID = "edgeworks-admin-token"

# --- Cloudflare error codes -------------------------------------------------------------
CODE_AUTH = 10000  # authentication error (401), or refused by the guard (403)
CODE_VALIDATION = 10001  # bad input: KV limits, malformed bodies and parameters (400)
CODE_KEY_NOT_FOUND = 10009  # GET of a missing key (404)
CODE_NAMESPACE_NOT_FOUND = 10013  # unknown namespace id (404)
CODE_TITLE_EXISTS = 10014  # a namespace with that title exists (400)
CODE_QUEUE_NOT_FOUND = 11000  # unknown queue (404); edgeworks' code, Cloudflare's queue range
CODE_NO_ROUTE = 7003  # no such API path (404) or method (405)
CODE_INTERNAL = 10000  # the store failed (503)

# --- sizes and paging ---------------------------------------------------------------
MAX_REQUEST_BYTES = 100 * 1024 * 1024  # bytes of one request body (Cloudflare's limit)
MAX_BULK_ITEMS = 10_000  # items of one bulk write or bulk delete
MIN_KEYS_LIMIT = 10  # keys per list page, at least (Cloudflare's minimum)
MAX_PAGE = 2**31 - 1  # largest page number accepted
NAMESPACES_PER_PAGE = 20  # namespaces per page when per_page is not given
MAX_NAMESPACES_PER_PAGE = 1000  # largest per_page (wrangler asks for 1000)
MAX_TITLE_BYTES = 512  # bytes of a namespace title (it becomes the namespace id)
COUNT_CAP = 10_000  # keys counted per namespace for the page; more shows as "10000+"
RENAME_BATCH = 1000  # keys copied per batch when a rename moves a namespace

# --- messages ---------------------------------------------------------------------
MSG_KEY_NOT_FOUND = "get: 'key not found'"
MSG_METADATA_NOT_FOUND = "get metadata: 'key not found'"
MSG_NAMESPACE_NOT_FOUND = "namespace not found: {id!r}"
MSG_TITLE_EXISTS = "a namespace with the title {title!r} already exists"
MSG_TITLE_INVALID = "title must be a non-empty string of at most {limit} bytes, got {value!r}"
MSG_TITLE_BOUND = (
    "namespace {id!r} is bound in edgeworks.toml ({bindings}); its id is fixed there: "
    "change the id in edgeworks.toml instead of renaming it"
)
MSG_NO_ROUTE = "No route for {method} {path}"
MSG_METHOD = "Method {method} not allowed for {path}; allowed: {allowed}"
MSG_BODY_TOO_LARGE = "Request body of more than {limit} bytes exceeds the admin API limit"
MSG_BODY_NOT_JSON = "request body must be JSON: {detail}"
MSG_BODY_SHAPE = "request body must be {shape}, got {type}"
MSG_FIELD_TYPE = "{field} must be {expected}, got {type}"
MSG_MISSING_VALUE = "Missing value field: a multipart body needs a part named 'value'"
MSG_BAD_MULTIPART = "malformed multipart/form-data body: {detail}"
MSG_METADATA_JSON = "Invalid metadata JSON: {detail}"
MSG_BAD_NUMBER = "{name} must be a number, got {value!r}"
MSG_BAD_PAGE = "{name} must be an integer from {minimum} to {maximum}, got {value!r}"
MSG_BAD_CHOICE = "{name} must be one of {allowed}, got {value!r}"
MSG_KEYS_LIMIT = (
    "Invalid key_count_limit of {value}. Please specify an integer from {minimum} to {maximum}."
)
MSG_BAD_PATH_SEGMENT = "path segment {segment!r} is not valid percent-encoded UTF-8"
MSG_TOO_MANY_ITEMS = "a bulk request may hold at most {limit} items, got {count}"
MSG_STORE = "Store unavailable: {detail}"
MSG_QUEUE_NOT_FOUND = "no queue {name!r} in edgeworks.toml or the store; known queues: {known}"
MSG_NO_DEAD_LETTERS = (
    "no consumer of {name!r} has a dead letter queue, and {name!r} is no consumer's dead "
    "letter queue: set dead_letter_queue in its [[queues.consumers]] entry"
)
SEND_FIELDS = ("body", "content_type", "delay_seconds")  # fields of a send request

# --- guard (runtime/admin/guard.py) -------------------------------------------------
MSG_AUTH = "Authentication error: send Authorization: Bearer <admin token>"
MSG_HOST = "Host {host!r} is not allowed: the dev server answers admin requests for {allowed}"
MSG_ORIGIN = "Origin {origin!r} may not change data here; only pages served by {host!r} may"
AUTH_REALM = "edgeworks admin"  # HTTP Basic realm of the page (password: the admin token)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")  # names a loopback dev server answers to
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # methods that change nothing
