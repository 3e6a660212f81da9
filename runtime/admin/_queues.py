"""Queue endpoints (``/__edgeworks/api/queues``), the same envelope as KV's:

- ``GET /queues``: every queue (configured or in the store) with ``ready``,
  ``delayed``, ``in_flight``, ``dead_lettered``, ``backlog_bytes`` and
  ``oldest_timestamp``;
- ``POST /queues/{name}/messages`` ``{"body", "content_type"?, "delay_seconds"?}``:
  send one message, as a producer binding does (same rules and messages);
- ``POST /queues/{name}/purge``: delete every message;
- ``POST /queues/{name}/retry-dead``: move the dead-lettered messages back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from kv.bulk import json_type
from runtime.admin import limits as L
from runtime.admin._envelope import ok
from runtime.admin._request import AdminRequest
from runtime.admin._state import AdminState, store_errors
from runtime.admin.errors import AdminError

if TYPE_CHECKING:
    from queues import QueueStore


async def list_queues(state: AdminState, req: AdminRequest) -> Response:
    if state.queue_store is None or state.config is None:
        return ok([])
    from runtime.consumers import queue_overview

    with store_errors():
        rows = await queue_overview(state.config, state.queue_store, now=state.clock())
    return ok(rows)


async def _known(state: AdminState, name: str) -> QueueStore:
    """The queue store, once ``name`` is a known queue (404 code 11000 otherwise)."""
    from runtime.consumers import queue_names

    store, config = state.queue_store, state.config
    known: list[str] = []
    if store is not None and config is not None:
        with store_errors():
            known = sorted({*queue_names(config), *await store.list_queues()})
    if store is None or name not in known:
        raise AdminError(
            L.MSG_QUEUE_NOT_FOUND.format(name=name, known=", ".join(known) or "none"),
            status=404,
            code=L.CODE_QUEUE_NOT_FOUND,
        )
    return store


async def send_message(state: AdminState, req: AdminRequest, name: str) -> Response:
    from queues import Queue, QueueError

    store = await _known(state, name)
    body = await req.json()
    if not isinstance(body, dict) or "body" not in body:
        shape = 'an object {"body": ..., "content_type"?, "delay_seconds"?}'
        raise AdminError(L.MSG_BODY_SHAPE.format(shape=shape, type=json_type(body)))
    options: dict[str, Any] = {k: body[k] for k in L.SEND_FIELDS[1:] if body.get(k) is not None}
    queue = Queue(store, name, clock=state.clock, after_send=state.after_send)
    try:
        with store_errors():
            await queue.send(body["body"], **options)
    except QueueError as err:
        status = 503 if err.status >= 500 else 400
        raise AdminError(str(err), status=status, code=L.CODE_VALIDATION) from None
    return ok({"queue": name, "sent": 1})


async def purge(state: AdminState, req: AdminRequest, name: str) -> Response:
    store = await _known(state, name)
    with store_errors():
        purged = await store.purge(name)
    return ok({"queue": name, "purged": purged})


async def retry_dead(state: AdminState, req: AdminRequest, name: str) -> Response:
    from runtime.consumers import dead_letter_route

    store = await _known(state, name)
    assert state.config is not None  # _known checked it
    route = dead_letter_route(state.config, name)
    if route is None:
        raise AdminError(L.MSG_NO_DEAD_LETTERS.format(name=name))
    source, target = route
    with store_errors():
        moved = await store.transfer(source, target, state.clock())
    if state.after_send is not None and moved:
        state.after_send(target)
    return ok({"from": source, "to": target, "moved": moved})
