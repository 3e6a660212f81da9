"""``sites.deploy``: put a folder into a KV namespace and switch the site to it atomically.

Order of work (docs/sites.md, "Deploying")::

    walk + filter + limits -> hash (threads) -> list what KV holds -> upload what is missing
    (batched, concurrent) -> write manifest v<N> -> ONE write switches the pointer
    -> delete assets and manifests none of the last ``keep`` published versions use

Anything refused (size, key length, symlinks, unreadable files) raises ``DeployError``
before the first write, so the live site is unchanged. An unchanged redeploy
writes nothing and costs a walk plus hashing (or only a walk with a ``HashCache``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sites import limits
from sites._mime import content_type
from sites._rules import parse_headers, parse_redirects
from sites._walk import (
    HashCache,
    SourceFile,
    hash_bytes,
    hash_files,
    hashed_key,
    read_file,
    walk_bucket,
)
from sites.errors import DeployError
from sites.manifest import (
    Manifest,
    ManifestEntry,
    Pointer,
    bump_generation,
    manifest_key,
    read_manifest,
    read_pointer,
    version_of_key,
)

if TYPE_CHECKING:
    from kv import KVNamespace

# HashCache lives with the walk; it is public here, beside the deploy that takes it.
__all__ = ["DeployResult", "FileChange", "HashCache", "ProgressCallback", "deploy"]

#: ``progress(phase, done, total)``; phase is ``"hash"`` or ``"upload"``. Called from a
#: worker thread while hashing.
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class FileChange:
    """One line of the deploy plan: ``+`` upload, ``=`` already stored, ``-`` deleted key."""

    action: str
    path: str
    key: str
    size: int

    def __str__(self) -> str:
        if self.action == "-":
            return f"- {self.key}"
        return f"{self.action} {self.path} ({self.key}, {self.size} bytes)"


@dataclass(frozen=True, slots=True)
class DeployResult:
    """What a deploy did (or, with ``dry_run``, would do)."""

    uploaded: int
    unchanged: int
    deleted: int
    version: int
    warnings: list[str] = field(default_factory=list)
    changes: list[FileChange] = field(default_factory=list)
    dry_run: bool = False
    published: bool = False  # a new version went live

    def summary(self) -> str:
        """``N uploaded, M unchanged, K deleted, version V``."""
        text = f"{self.uploaded} uploaded, {self.unchanged} unchanged, {self.deleted} deleted, version {self.version}"
        return f"{text} (dry run)" if self.dry_run else text


def _check_options(html_handling: str, not_found_handling: str, keep: int) -> None:
    if html_handling not in limits.HTML_HANDLING_MODES:
        raise DeployError(
            limits.MSG_BAD_OPTION.format(
                name="html_handling",
                allowed=", ".join(limits.HTML_HANDLING_MODES),
                value=html_handling,
            )
        )
    if not_found_handling not in limits.NOT_FOUND_MODES:
        raise DeployError(
            limits.MSG_BAD_OPTION.format(
                name="not_found_handling",
                allowed=", ".join(limits.NOT_FOUND_MODES),
                value=not_found_handling,
            )
        )
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise DeployError(limits.MSG_BAD_KEEP.format(value=keep))


def _read_rules(root: str) -> tuple[list[dict[str, object]], dict[str, object], list[str]]:
    warnings: list[str] = []
    headers: list[dict[str, object]] = []
    redirects: dict[str, object] = {}
    path = os.path.join(root, limits.HEADERS_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as fh:
            headers, found = parse_headers(fh.read())
        warnings += found
    path = os.path.join(root, limits.REDIRECTS_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as fh:
            redirects, found = parse_redirects(fh.read())
        warnings += found
    return headers, redirects, warnings


async def _stale_assets(
    existing_assets: set[str],
    entries: Mapping[str, ManifestEntry],
    kept_versions: Sequence[int],
    current: Manifest | None,
    direct: KVNamespace,
) -> list[str]:
    """Stored assets that neither the new manifest nor the other kept versions use."""
    in_use = {e.key for e in entries.values()}
    for version in kept_versions[1:]:
        old = (
            current
            if current is not None and current.version == version
            else await read_manifest(direct, version)
        )
        if old is not None:
            in_use |= old.keys
    return sorted(existing_assets - in_use)


async def _existing_keys(namespace: KVNamespace) -> list[str]:
    keys: list[str] = []
    cursor: str | None = None
    while True:
        page = await namespace.list(limit=limits.LIST_PAGE, cursor=cursor)
        keys.extend(item.name for item in page.keys)
        if page.list_complete:
            return keys
        cursor = page.cursor


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


async def deploy(
    bucket: str | os.PathLike[str],
    namespace: KVNamespace,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    keep: int = limits.DEFAULT_KEEP,
    html_handling: str = limits.DEFAULT_HTML_HANDLING,
    not_found_handling: str = limits.DEFAULT_NOT_FOUND_HANDLING,
    cache_control: str = limits.DEFAULT_CACHE_CONTROL,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    only: Iterable[str | os.PathLike[str]] | None = None,
    hash_cache: HashCache | None = None,
) -> DeployResult:
    """Deploy the folder ``bucket`` into ``namespace`` (the site's ``__STATIC_CONTENT``).

    >>> result = await deploy("public", KVNamespace(store, config.site_namespace_id))
    >>> result.summary()
    '12 uploaded, 0 unchanged, 0 deleted, version 1'

    ``only`` names files known to have changed (the dev server's watcher): their
    ``hash_cache`` entries are dropped so they are re-read even if size and mtime
    look the same. Serving options are recorded in the manifest, so the handler
    needs nothing else.
    """
    from kv.backends import WriteOp
    from kv.bulk import write_batch

    _check_options(html_handling, not_found_handling, keep)
    root = os.fspath(bucket)
    if not os.path.isdir(root):
        raise DeployError(limits.MSG_NO_BUCKET.format(bucket=root))
    if hash_cache is not None and only is not None:
        hash_cache.forget(only)

    files, offenders = await asyncio.to_thread(walk_bucket, root, include, exclude)
    headers, redirects, warnings = await asyncio.to_thread(_read_rules, os.path.realpath(root))

    done = 0

    def hashed(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress("hash", done, len(files))

    if progress is not None:
        progress("hash", 0, len(files))
    digests, errors = await asyncio.to_thread(hash_files, files, hash_cache, hashed)
    offenders += errors

    entries: dict[str, ManifestEntry] = {}
    sources: dict[str, SourceFile] = {}
    for src in files:
        digest = digests.get(src.path)
        if digest is None:
            continue
        key = hashed_key(src.path, digest)
        key_bytes = len(key.encode())
        if key_bytes > limits.MAX_KEY_BYTES:
            offenders.append(
                limits.MSG_KEY_TOO_LONG.format(
                    path=src.path, key=key, size=key_bytes, limit=limits.MAX_KEY_BYTES
                )
            )
            continue
        entries[src.path] = ManifestEntry(
            key, src.size, content_type(src.path), digest[: limits.ETAG_HASH_CHARS]
        )
        sources[key] = src
    if offenders:
        raise DeployError(
            limits.MSG_DEPLOY_FAILED.format(offenders="\n  ".join(offenders)), offenders
        )

    direct = namespace.without_cache()
    pointer = await read_pointer(direct)
    current = await read_manifest(direct, pointer.version) if pointer is not None else None
    existing = await _existing_keys(direct)
    existing_set = set(existing)
    existing_assets = {k for k in existing if not k.startswith(limits.RESERVED_PREFIX)}
    versions = {v for v in (version_of_key(k) for k in existing) if v is not None}
    if pointer is not None:
        versions.update(pointer.published)

    new = Manifest(
        version=max(versions, default=0) + 1,
        files=entries,
        html_handling=html_handling,
        not_found_handling=not_found_handling,
        cache_control=cache_control,
        headers=headers,
        redirects=redirects,
        warnings=warnings,
        keep=keep,
    )
    missing = sorted({e.key for e in entries.values()} - existing_assets)
    missing_set = set(missing)
    changes = [
        FileChange("+" if e.key in missing_set else "=", path, e.key, e.size)
        for path, e in entries.items()
    ]
    uploaded = len({c.key for c in changes if c.action == "+"})
    unchanged = len(changes) - sum(1 for c in changes if c.action == "+")

    if current is not None and pointer is not None and not missing and current.same_site(new):
        # Nothing to publish: the live version already serves exactly this site.
        return DeployResult(0, unchanged, 0, current.version, warnings, changes, dry_run, False)

    new_pointer = (
        pointer.publish(new.version)
        if pointer is not None
        else Pointer(new.version, (new.version,))
    )
    kept_versions = new_pointer.published[:keep]

    if dry_run:
        stale = await _stale_assets(existing_assets, entries, kept_versions, current, direct)
        changes += [FileChange("-", key, key, 0) for key in stale]
        return DeployResult(
            uploaded, unchanged, len(stale), new.version, warnings, changes, True, False
        )

    # 1. every asset of the new version
    total = len(missing)
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

    batches = _batches([(key, sources[key].size) for key in missing])
    tasks = [asyncio.ensure_future(upload(b)) for b in batches]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise

    # 2. the manifest, then the one write that makes it live
    await namespace.put(manifest_key(new.version), new.to_json())
    await namespace.put(limits.MANIFEST_POINTER_KEY, new_pointer.to_json())
    bump_generation()

    # 3. whatever none of the last `keep` published versions uses
    stale = await _stale_assets(existing_assets, entries, kept_versions, current, direct)
    old_manifests = sorted(
        manifest_key(v)
        for v in versions
        if v not in kept_versions and manifest_key(v) in existing_set
    )
    doomed = stale + old_manifests
    for start in range(0, len(doomed), limits.UPLOAD_BATCH_KEYS):
        chunk = doomed[start : start + limits.UPLOAD_BATCH_KEYS]
        await write_batch(namespace, [WriteOp(key, None) for key in chunk])
    changes += [FileChange("-", key, key, 0) for key in stale]
    return DeployResult(
        uploaded, unchanged, len(stale), new.version, warnings, changes, False, True
    )
