"""Values: the bytes a put stores (from text, buffers or a stream, size-checked as they
arrive) and what a get returns (text, JSON, bytes or chunks)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from kv import _validate as V
from kv import limits as L
from kv.backends.base import Buffer


def decode_value(value: bytes, type_: str) -> Any:
    """A stored value as the response type ``type_`` (``"bytes"``, ``"text"``, ``"json"``)."""
    if type_ == "bytes":
        return value
    # Like Workers' TextDecoder: bytes that are not UTF-8 read as U+FFFD, never an error.
    text = value.decode("utf-8", "replace")
    return json.loads(text) if type_ == "json" else text


async def chunks_of(value: bytes) -> AsyncIterator[bytes]:
    """``value`` as chunks of ``STREAM_CHUNK_BYTES``, for stream reads served from memory."""
    view = memoryview(value)
    for start in range(0, len(value), L.STREAM_CHUNK_BYTES):
        yield bytes(view[start : start + L.STREAM_CHUNK_BYTES])


async def read_value(value: str | Buffer | AsyncIterable[bytes]) -> Buffer:
    """The bytes of a put value, size-checked; a stream is read into one ``bytearray``
    and abandoned as soon as it passes the limit."""
    if isinstance(value, str):
        data: Buffer = V.encode_text(value)
    elif isinstance(value, memoryview):
        data = value.cast("B") if value.c_contiguous else value.tobytes()
    elif isinstance(value, bytes | bytearray):
        data = value
    else:
        data = await _read_stream(value)
    V.check_value_size(len(data))
    return data


async def _read_stream(stream: AsyncIterable[Any]) -> bytearray:
    buffer = bytearray()
    try:
        async for chunk in stream:
            if isinstance(chunk, str):
                chunk = V.encode_text(chunk)
            elif not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(L.MSG_PUT_VALUE_TYPE)
            size = len(buffer) + memoryview(chunk).nbytes
            V.check_value_size(size)
            buffer += chunk
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    return buffer
