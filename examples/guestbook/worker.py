"""Guestbook: an app with no origin. Pages come from [site]; the JSON API lives here, on KV.

API::

    GET  /api/entries[?limit=20&cursor=...]   newest first: {"entries": [...], "cursor": ...}
    POST /api/entries  {"name": "...", "message": "..."}   201 + the entry
    GET  /api/entries/<id>                    one entry

KV layout (binding ``GUESTBOOK``): ``entry:<id>`` -> the entry as JSON, where the id
starts with the inverted creation time so that ``list()`` (sorted by key) returns
the newest entries first. Every other path is a static asset from the bucket.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kv import KVError
from sites import AssetHandler

ENTRY_PREFIX = "entry:"
MAX_BODY_BYTES = 4096  # bytes a POST body may have
MAX_NAME_CHARS = 40
MAX_MESSAGE_CHARS = 500
DEFAULT_PAGE = 20  # entries per GET
MAX_PAGE = 50  # most entries one GET returns (one bulk KV read)
INVERT_NS = 10**19 - 1  # creation time in ns is stored as INVERT_NS - t: newest sorts first
ID_PATTERN = re.compile(r"[0-9]{19}-[0-9a-f]{8}")
#: Control characters other than newline and tab are refused in text fields.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_last_ns = 0
_assets: tuple[Any, AssetHandler] | None = None


def error(status: int, message: str, **headers: str) -> JSONResponse:
    """A JSON error body: ``{"error": message}``."""
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def new_id() -> str:
    """A unique id that sorts newest first (strictly increasing time in this process)."""
    global _last_ns
    _last_ns = max(time.time_ns(), _last_ns + 1)
    return f"{INVERT_NS - _last_ns:019d}-{secrets.token_hex(4)}"


def validate(data: object) -> tuple[dict[str, str] | None, str]:
    """The cleaned entry fields, or ``None`` and what is wrong with them."""
    if not isinstance(data, dict):
        return None, 'the body must be a JSON object {"name": ..., "message": ...}'
    unknown = sorted(set(data) - {"name", "message"})
    if unknown:
        return None, f"unknown fields {unknown}; allowed: name, message"
    cleaned = {}
    for field, limit in (("name", MAX_NAME_CHARS), ("message", MAX_MESSAGE_CHARS)):
        value = data.get(field)
        if not isinstance(value, str):
            return None, f'"{field}" must be a string of 1 to {limit} characters'
        value = value.strip()
        if not 1 <= len(value) <= limit:
            return None, f'"{field}" must have 1 to {limit} characters, got {len(value)}'
        if CONTROL.search(value) or (field == "name" and "\n" in value):
            return None, f'"{field}" contains control characters'
        cleaned[field] = value
    return cleaned, ""


async def read_body(request: Request) -> bytes | None:
    """The body, or ``None`` once it passes ``MAX_BODY_BYTES`` (counted as it arrives)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


async def create_entry(request: Request, kv: Any) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return error(415, "send the entry as Content-Type: application/json")
    body = await read_body(request)
    if body is None:
        return error(413, f"the body may have at most {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return error(400, "the body is not valid JSON")
    fields, problem = validate(data)
    if fields is None:
        return error(422, problem)
    entry = {"id": new_id(), **fields, "created": time.time()}
    await kv.put(ENTRY_PREFIX + entry["id"], json.dumps(entry))
    return JSONResponse(entry, status_code=201, headers={"Location": f"/api/entries/{entry['id']}"})


async def list_entries(request: Request, kv: Any) -> Response:
    raw_limit = request.query_params.get("limit", str(DEFAULT_PAGE))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE:
        return error(400, f"limit must be an integer from 1 to {MAX_PAGE}")
    cursor = request.query_params.get("cursor") or None
    try:
        page = await kv.list(prefix=ENTRY_PREFIX, limit=int(raw_limit), cursor=cursor)
    except KVError as exc:
        if exc.status == 400:
            return error(400, "the cursor is not valid; start again without it")
        raise
    names = [item.name for item in page.keys]
    entries: list[Any] = []
    if names:
        values = await kv.get(names, type="json")
        entries = [values[name] for name in names if values[name] is not None]
    return JSONResponse({"entries": entries, "cursor": page.cursor})


async def get_entry(entry_id: str, kv: Any) -> Response:
    entry = (
        await kv.get(ENTRY_PREFIX + entry_id, type="json")
        if ID_PATTERN.fullmatch(entry_id)
        else None
    )
    if entry is None:
        return error(404, f"no entry {entry_id!r}")
    return JSONResponse(entry)


async def api(request: Request, env: Any) -> Response:
    path = request.url.path.rstrip("/")
    if path == "/api/entries":
        if request.method == "POST":
            return await create_entry(request, env.GUESTBOOK)
        if request.method in ("GET", "HEAD"):
            return await list_entries(request, env.GUESTBOOK)
        return error(405, f"{request.method} is not allowed here", Allow="GET, HEAD, POST")
    if path.startswith("/api/entries/"):
        if request.method not in ("GET", "HEAD"):
            return error(405, f"{request.method} is not allowed here", Allow="GET, HEAD")
        return await get_entry(path.removeprefix("/api/entries/"), env.GUESTBOOK)
    return error(404, f"no API route {request.url.path}; see GET /api/entries")


def assets(env: Any) -> AssetHandler:
    """One asset handler per site namespace (it keeps hot assets in memory)."""
    global _assets
    namespace = getattr(env, "__STATIC_CONTENT")
    if _assets is None or _assets[0] is not namespace:
        _assets = (namespace, AssetHandler(namespace))
    return _assets[1]


async def handle_request(request: Request, env: Any, ctx: Any) -> Response:
    if request.url.path == "/api" or request.url.path.startswith("/api/"):
        return await api(request, env)
    return await assets(env)(request)
