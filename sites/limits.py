"""Every static-site limit, default and message (docs/sites.md), as named constants."""

from __future__ import annotations

from typing import Literal, get_args

# --- deploy -------------------------------------------------------------------
MAX_ASSET_BYTES = 25 * 1024 * 1024  # bytes per file (the Workers KV value limit)
MAX_KEY_BYTES = 512  # bytes of UTF-8 per hashed KV key (the Workers KV key limit)
HASH_KEY_CHARS = 10  # hex chars of the content hash inside a KV key (`name.<hash10>.ext`)
ETAG_HASH_CHARS = 32  # hex chars of the content hash used as the ETag
DEFAULT_KEEP = 2  # published manifests whose assets survive a deploy
PUBLISHED_HISTORY = 20  # versions remembered in the pointer (>= any sensible keep)
UPLOAD_BATCH_KEYS = 100  # keys per write_batch call
UPLOAD_BATCH_BYTES = 16 * 1024 * 1024  # bytes of values per write_batch call (soft cap)
UPLOAD_CONCURRENCY = 4  # write_batch calls in flight
HASH_THREADS = 4  # threads hashing files (hashlib releases the GIL on large buffers)
LIST_PAGE = 1000  # keys per list call when reading what the namespace already holds

# Names never deployed wherever they appear in the bucket (dot-names are skipped too,
# except ALLOWED_DOT_NAMES).
SKIPPED_NAMES = frozenset(
    {".git", ".edgeworks", "__pycache__", "node_modules", "_headers", "_redirects", ".assetsignore"}
)
ALLOWED_DOT_NAMES = frozenset({".well-known"})
ASSETSIGNORE = ".assetsignore"
HEADERS_FILE = "_headers"
REDIRECTS_FILE = "_redirects"

# --- reserved keys in the __STATIC_CONTENT namespace ---------------------------
# Hashed asset keys always end in a segment holding `.<hash10>`; these names have no dot
# in their last segment, so they can never collide with an asset.
RESERVED_PREFIX = "__edgeworks/"
MANIFEST_POINTER_KEY = "__edgeworks/manifest/current"
MANIFEST_KEY_PREFIX = "__edgeworks/manifest/v"
MANIFEST_FORMAT = 1  # bumped when the manifest JSON changes shape

# --- _redirects and _headers (Workers Static Assets limits) -------------------
MAX_STATIC_REDIRECTS = 2000  # rules without placeholders
MAX_DYNAMIC_REDIRECTS = 100  # rules with `*` or `:name` (and every rule after the first such)
MAX_HEADER_RULES = 100  # path rules in _headers
MAX_RULE_LINE_CHARS = 2000  # characters per line of _redirects/_headers
REDIRECT_STATUSES = frozenset({200, 301, 302, 303, 307, 308})
DEFAULT_REDIRECT_STATUS = 302

# --- serving --------------------------------------------------------------------
HtmlHandling = Literal["auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none"]
NotFoundHandling = Literal["404-page", "single-page-application", "none"]
HTML_HANDLING_MODES: tuple[str, ...] = get_args(HtmlHandling)
NOT_FOUND_MODES: tuple[str, ...] = get_args(NotFoundHandling)
DEFAULT_HTML_HANDLING: HtmlHandling = "auto-trailing-slash"
DEFAULT_NOT_FOUND_HANDLING: NotFoundHandling = "404-page"
DEFAULT_CACHE_CONTROL = "public, max-age=0, must-revalidate"
MANIFEST_REFRESH_SECONDS = 2.0  # longest a process serves a manifest before re-reading the pointer
DEFAULT_HOT_BYTES = 64 * 1024 * 1024  # bytes of asset bodies a handler keeps in memory
MAX_HOT_ASSET_BYTES = 4 * 1024 * 1024  # larger assets are read from KV on every request
ROUTE_CACHE_ENTRIES = 4096  # resolved request paths remembered per manifest
MAX_REQUEST_PATH_BYTES = 8192  # longer raw paths are answered 414
MAX_NUMBER_DIGITS = 18  # Range positions with more digits count as "very large"
REDIRECT_CODE = 307  # html_handling redirects
ALLOW_HEADER = "GET, HEAD"
NOT_FOUND_ASSET_WARNING = "asset %s (%s) is in manifest v%d but missing from KV"

# --- messages -----------------------------------------------------------------
MSG_TOO_BIG = "{path}: {size} bytes is over the {limit} byte (25 MiB) limit per file"
MSG_KEY_TOO_LONG = "{path}: KV key {key!r} is {size} bytes, over the {limit} byte limit"
MSG_SYMLINK_OUTSIDE = "{path}: symlink points outside the bucket ({target})"
MSG_SYMLINK_BROKEN = "{path}: broken symlink"
MSG_SYMLINK_LOOP = "{path}: symlink loop"
MSG_UNREADABLE = "{path}: cannot read ({error})"
MSG_BAD_NAME = "{path}: file names may not contain control characters or backslashes"
MSG_NFC_COLLISION = "{path}: collides with {other} after Unicode NFC normalisation"
MSG_CHANGED = "{path}: changed while being deployed; run the deploy again"
MSG_NO_BUCKET = "site bucket {bucket} is not a directory"
MSG_DEPLOY_FAILED = "deploy refused, the live site is unchanged:\n  {offenders}"
MSG_BAD_OPTION = "{name} must be one of {allowed}, not {value!r}"
MSG_BAD_KEEP = "keep must be an integer >= 1, not {value!r}"
