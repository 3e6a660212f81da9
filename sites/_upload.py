"""Uploading a deploy's new assets: batched by key count and bytes, a few batches in
flight, each file re-read and re-hashed as it goes (a file that changed since it was
hashed refuses the deploy before anything points at it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from sites import limits
from sites._walk import SourceFile, hash_bytes, hashed_key, read_file
from sites.errors import DeployError

if TYPE_CHECKING:
    from kv import KVNamespace
    from kv.backends import WriteOp

#: ``progress(phase, done, total)``; phase is ``"hash"`` or ``"upload"``. Called from a
#: worker thread while hashing.
ProgressCallback = Callable[[str, int, int], None]


def _batches(items: Sequence[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    """Split ``(name, size)`` items into batches bounded by key count and bytes."""
    batches: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    size = 0
    for item in items:
        if current and (
            len(current) >= limits.UPLOAD_BATCH_KEYS or size + item[1] > limits.UPLOAD_BATCH_BYTES
        ):
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += item[1]
    if current:
        batches.append(current)
    return batches


async def upload_assets(
    namespace: KVNamespace,
    keys: Sequence[str],
    sources: Mapping[str, SourceFile],
    progress: ProgressCallback | None,
) -> None:
    """Write the asset under each of ``keys`` (read from ``sources[key]``)."""
    from kv.backends import WriteOp
    from kv.bulk import write_batch

    total = len(keys)
    sent = 0
    if progress is not None:
        progress("upload", 0, total)
    semaphore = asyncio.Semaphore(limits.UPLOAD_CONCURRENCY)

    def load(batch: list[tuple[str, int]]) -> list[WriteOp]:
        ops = []
        for key, _ in batch:
            src = sources[key]
            data = read_file(src)
            if len(data) > limits.MAX_ASSET_BYTES or hashed_key(src.path, hash_bytes(data)) != key:
                raise DeployError(limits.MSG_CHANGED.format(path=src.path), [src.path])
            ops.append(WriteOp(key, data))
        return ops

    async def upload(batch: list[tuple[str, int]]) -> None:
        nonlocal sent
        async with semaphore:
            ops = await asyncio.to_thread(load, batch)
            await write_batch(namespace, ops)
        sent += len(batch)
        if progress is not None:
            progress("upload", sent, total)

    batches = _batches([(key, sources[key].size) for key in keys])
    tasks = [asyncio.ensure_future(upload(b)) for b in batches]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
