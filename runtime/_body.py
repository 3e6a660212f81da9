"""Request bodies and pass-through responses for the app.

``read_body`` reads a request body whole before the handler runs, stopping at the
body limit (Content-Length first, else counting a chunked body as it arrives);
``replay`` hands it to the handler's ``Request``; ``send_httpx`` streams an
``httpx.Response`` (a ``fetch`` result or the origin's answer) to the client.
"""

from __future__ import annotations

from typing import Any

from starlette.types import Message, Receive, Scope, Send

from runtime.forward import connection_tokens
from runtime.limits import HOP_BY_HOP_HEADERS


class BodyTooLarge(Exception):
    """The request body is over the limit; ``size`` is what was seen so far."""

    def __init__(self, size: int) -> None:
        self.size = size


def has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the request announces a body (Content-Length or chunked)."""
    for name, _ in headers:  # noqa: SIM110 - a plain loop beats any() + a generator here
        if name == b"content-length" or name == b"transfer-encoding":
            return True
    return False


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or ``None`` when the request has none.

    Raises ``BodyTooLarge`` as soon as Content-Length or the bytes received so
    far exceed ``limit``; the handler never runs then.
    """
    length: int | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    if length is None and not chunked:
        return None
    if length is not None and length > limit:
        raise BodyTooLarge(length)
    if length == 0:
        return b""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # http.disconnect: the handler sees what arrived
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(size)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the already read body once, then waits for disconnect."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def send_httpx(response: Any, send: Send) -> int:
    """Stream an ``httpx.Response`` through: status, headers, then its body."""
    streamed = not response.is_stream_consumed
    headers = []
    raw = response.headers.raw
    hop_by_hop = HOP_BY_HOP_HEADERS
    if "connection" in response.headers:
        hop_by_hop = hop_by_hop | connection_tokens(raw)  # the headers Connection names, too
    for name, value in raw:
        lower = name.lower()
        if lower.decode("latin-1") in hop_by_hop:
            continue
        if not streamed and lower in (b"content-length", b"content-encoding"):
            continue  # the body was read and decoded: send the decoded bytes
        headers.append((lower, value))
    try:
        if not streamed:
            content = response.content
            headers.append((b"content-length", str(len(content)).encode()))
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": headers}
            )
            await send({"type": "http.response.body", "body": content})
            return int(response.status_code)
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        async for chunk in response.aiter_raw():
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return int(response.status_code)
    finally:
        await response.aclose()
