"""Namespace endpoints: list (paged), create, get, rename, delete, and the key count
the page shows. A namespace's id is its edgeworks id; its title is its binding
name where edgeworks.toml has one, else the id."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from kv.backends import WriteOp
from kv.bulk import json_type
from runtime.admin import limits as L
from runtime.admin._envelope import ok, paged
from runtime.admin._request import AdminRequest
from runtime.admin._state import AdminState, store_errors
from runtime.admin.errors import AdminError


def namespace_object(state: AdminState, namespace_id: str) -> dict[str, Any]:
    """A namespace as Cloudflare describes it (keys in URLs are percent-decoded once)."""
    return {"id": namespace_id, "title": state.title(namespace_id), "supports_url_encoding": True}


async def list_namespaces(state: AdminState, req: AdminRequest) -> Response:
    """``GET /namespaces?page=&per_page=&order=&direction=``: a page past the last is
    empty, so clients that page until an empty page stop."""
    page, per_page = req.paging()
    order = req.choice("order", ("id", "title"))
    direction = req.choice("direction", ("asc", "desc"))
    items = [namespace_object(state, ns) for ns in await state.namespace_ids()]
    items.sort(key=lambda item: (item[order], item["id"]), reverse=direction == "desc")
    return paged(items, page, per_page)


def _title(body: Any) -> str:
    if not isinstance(body, dict):
        raise AdminError(
            L.MSG_BODY_SHAPE.format(shape='an object {"title": ...}', type=json_type(body))
        )
    title = body.get("title")
    invalid = AdminError(L.MSG_TITLE_INVALID.format(limit=L.MAX_TITLE_BYTES, value=title))
    if not isinstance(title, str) or not title.strip() or not title.isprintable():
        raise invalid
    try:
        size = len(title.encode())
    except UnicodeEncodeError:  # a lone surrogate
        raise invalid from None
    if size > L.MAX_TITLE_BYTES:
        raise invalid
    return title


def _check_free(state: AdminState, title: str, ids: list[str]) -> None:
    taken = set(ids) | {state.title(ns) for ns in ids}
    if title in taken:
        raise AdminError(L.MSG_TITLE_EXISTS.format(title=title), code=L.CODE_TITLE_EXISTS)


async def create_namespace(state: AdminState, req: AdminRequest) -> Response:
    """``POST /namespaces {"title"}``: the title becomes the new namespace's id."""
    title = _title(await req.json())
    _check_free(state, title, await state.namespace_ids())
    with store_errors():
        await state.store.create_namespace(title)
    return ok(namespace_object(state, title))


async def get_namespace(state: AdminState, req: AdminRequest, namespace_id: str) -> Response:
    await state.require(namespace_id)
    return ok(namespace_object(state, namespace_id))


async def rename_namespace(state: AdminState, req: AdminRequest, namespace_id: str) -> Response:
    """``PUT /namespaces/{id} {"title"}``. An edgeworks namespace's id is its name, so a
    rename moves its keys to the new id (copied in batches, then the old one is
    dropped: a failure midway leaves both, never neither). A namespace bound in
    edgeworks.toml keeps its id."""
    await state.require(namespace_id)
    title = _title(await req.json())
    if title == state.title(namespace_id):
        return ok(namespace_object(state, namespace_id))
    bound = state.bound(namespace_id)
    if bound:
        raise AdminError(L.MSG_TITLE_BOUND.format(id=namespace_id, bindings=", ".join(bound)))
    _check_free(state, title, await state.namespace_ids())
    store, now = state.store, state.clock()
    with store_errors():
        await store.create_namespace(title)
        after: str | None = None
        while True:
            infos = await store.list_keys(namespace_id, "", after, L.RENAME_BATCH, now)
            if not infos:
                break
            entries = await store.get_many(namespace_id, [i.name for i in infos], now)
            ops = [
                WriteOp(info.name, entry.value, entry.expiration, entry.metadata)
                for info, entry in zip(infos, entries, strict=True)
                if entry is not None
            ]
            await store.write_batch(title, ops)
            after = infos[-1].name
        await store.delete_namespace(namespace_id)
    if state.cache is not None:
        state.cache.invalidate_namespace(namespace_id)
    return ok(namespace_object(state, title))


async def delete_namespace(state: AdminState, req: AdminRequest, namespace_id: str) -> Response:
    """``DELETE /namespaces/{id}``: the namespace and every key in it."""
    await state.require(namespace_id)
    with store_errors():
        await state.store.delete_namespace(namespace_id)
    if state.cache is not None:
        state.cache.invalidate_namespace(namespace_id)
    return ok(None)


async def count_keys(state: AdminState, req: AdminRequest, namespace_id: str) -> Response:
    """``GET /namespaces/{id}/count`` (edgeworks only, for the page): live keys,
    counted up to ``COUNT_CAP`` (``complete`` is false beyond it)."""
    await state.require(namespace_id)
    ns = state.reader(namespace_id)
    count, cursor, complete = 0, None, True
    with store_errors():
        while True:
            page = await ns.list(cursor=cursor)
            count += len(page.keys)
            if page.list_complete:
                break
            if count >= L.COUNT_CAP:
                complete = False
                break
            cursor = page.cursor
    return ok({"count": count, "complete": complete})
