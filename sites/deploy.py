"""``sites.deploy``: put a folder into a KV namespace and switch the site to it atomically.

Order of work (docs/sites.md, "Deploying")::

    walk + filter + limits -> hash (threads) -> list what KV holds -> upload what is missing
    (batched, concurrent) -> write manifest v<N> -> ONE write switches the pointer
    -> delete assets and manifests none of the last ``keep`` published versions use

Anything refused (size, key length, symlinks, unreadable files) raises ``DeployError``
before the first write, so the live site is unchanged. Everything from the first
look at the namespace to the end of the cleanup happens under the site's deploy
lease (``sites._lease``): concurrent deploys of one site run one after the other. An unchanged redeploy
writes nothing and costs a walk plus hashing (or only a walk with a ``HashCache``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sites import limits
from sites._lease import DeployLease, next_version
from sites._mime import content_type
from sites._rules import parse_headers, parse_redirects
from sites._upload import ProgressCallback, upload_assets
from sites._walk import (
    HashCache,
    SourceFile,
    hash_files,
    hashed_key,
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

# HashCache lives with the walk, ProgressCallback with the upload; both are public here,
# beside the deploy that takes them.
__all__ = ["DeployResult", "FileChange", "HashCache", "ProgressCallback", "deploy"]


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
    publishes: bool = False  # (a plan) a deploy would publish a new version

    @property
    def changes_anything(self) -> bool:
        return self.published or self.publishes

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
    direct: KVNamespace,
    kept_versions: Sequence[int],
    known: Mapping[int, Manifest],
) -> list[str]:
    """Stored assets that no kept version's manifest uses (``known`` saves a read)."""
    in_use: set[str] = set()
    for version in kept_versions:
        manifest = known.get(version)
        if manifest is None:
            manifest = await read_manifest(direct, version)
        if manifest is not None:
            in_use |= manifest.keys
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
    lease_wait: float = limits.DEPLOY_LEASE_WAIT_S,
) -> DeployResult:
    """Deploy the folder ``bucket`` into ``namespace`` (the site's ``__STATIC_CONTENT``).

    >>> result = await deploy("public", KVNamespace(store, config.site_namespace_id))
    >>> result.summary()
    '12 uploaded, 0 unchanged, 0 deleted, version 1'

    ``only`` names files known to have changed (the dev server's watcher): their
    ``hash_cache`` entries are dropped so they are re-read even if size and mtime
    look the same. Serving options are recorded in the manifest, so the handler
    needs nothing else.

    Only one deploy of a site runs at a time: a real deploy holds the site's
    deploy lease (``sites._lease``) from its first look at the namespace to the end
    of its cleanup, waiting up to ``lease_wait`` seconds for another deploy to finish.
    """
    _check_options(html_handling, not_found_handling, keep)
    root = os.fspath(bucket)
    if not os.path.isdir(root):
        raise DeployError(limits.MSG_NO_BUCKET.format(bucket=root))
    if hash_cache is not None and only is not None:
        hash_cache.forget(only)

    files, offenders = await asyncio.to_thread(walk_bucket, root, include, exclude)
    headers, redirects, warnings = await asyncio.to_thread(_read_rules, os.path.realpath(root))
    options = _Options(html_handling, not_found_handling, cache_control, headers, redirects, keep)

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
    planned = await _plan(direct, entries, warnings, options, with_stale=dry_run)
    if dry_run or not planned.changes_anything:
        return replace(planned, dry_run=dry_run)
    async with DeployLease(namespace.store, namespace.id, wait=lease_wait) as lease:
        return await _publish(
            namespace, direct, lease, entries, sources, warnings, options, progress
        )


@dataclass(frozen=True, slots=True)
class _Options:
    """The serving options and ``keep`` of one deploy (recorded in its manifest)."""

    html_handling: str
    not_found_handling: str
    cache_control: str
    headers: list[dict[str, object]]
    redirects: dict[str, object]
    keep: int


@dataclass(slots=True)
class _State:
    """What the namespace holds when a deploy looks (under the lease, for a real one)."""

    pointer: Pointer | None
    pointer_raw: bytes | None
    current: Manifest | None
    existing: list[str]
    existing_assets: set[str]
    versions: set[int]


async def _read_state(direct: KVNamespace) -> _State:
    entry = await direct.store.get(direct.id, limits.MANIFEST_POINTER_KEY, direct.clock())
    pointer = None if entry is None else Pointer.from_json(entry.value.decode())
    current = await read_manifest(direct, pointer.version) if pointer is not None else None
    existing = await _existing_keys(direct)
    existing_assets = {k for k in existing if not k.startswith(limits.RESERVED_PREFIX)}
    versions = {v for v in (version_of_key(k) for k in existing) if v is not None}
    if pointer is not None:
        versions.update(pointer.published)
    return _State(
        pointer,
        None if entry is None else entry.value,
        current,
        existing,
        existing_assets,
        versions,
    )


def _manifest(
    version: int, entries: dict[str, ManifestEntry], warnings: list[str], options: _Options
) -> Manifest:
    return Manifest(
        version=version,
        files=entries,
        html_handling=options.html_handling,
        not_found_handling=options.not_found_handling,
        cache_control=options.cache_control,
        headers=options.headers,
        redirects=options.redirects,
        warnings=warnings,
        keep=options.keep,
    )


def _changes(
    entries: Mapping[str, ManifestEntry], existing_assets: set[str]
) -> tuple[list[str], list[FileChange], int, int]:
    """Keys to upload, the plan's ``+``/``=`` lines, and the uploaded/unchanged counts."""
    missing = sorted({e.key for e in entries.values()} - existing_assets)
    missing_set = set(missing)
    changes = [
        FileChange("+" if e.key in missing_set else "=", path, e.key, e.size)
        for path, e in entries.items()
    ]
    uploaded = len({c.key for c in changes if c.action == "+"})
    unchanged = len(changes) - sum(1 for c in changes if c.action == "+")
    return missing, changes, uploaded, unchanged


async def _plan(
    direct: KVNamespace,
    entries: dict[str, ManifestEntry],
    warnings: list[str],
    options: _Options,
    *,
    with_stale: bool,
) -> DeployResult:
    """What a deploy would upload (and, ``with_stale``, delete: the dry run); writes
    nothing. A real deploy looks again under the lease: this look only spares an
    unchanged redeploy the lease."""
    state = await _read_state(direct)
    new = _manifest(max(state.versions, default=0) + 1, entries, warnings, options)
    missing, changes, uploaded, unchanged = _changes(entries, state.existing_assets)
    if _unchanged(state, new, missing):
        assert state.current is not None
        return DeployResult(0, unchanged, 0, state.current.version, warnings, changes)
    if not with_stale:
        result = DeployResult(uploaded, unchanged, 0, new.version, warnings, changes)
        return replace(result, publishes=True)
    published = _published(state.pointer, new.version)
    known = {new.version: new}
    if state.current is not None:
        known[state.current.version] = state.current
    stale = await _stale_assets(state.existing_assets, direct, published[: options.keep], known)
    changes += [FileChange("-", key, key, 0) for key in stale]
    result = DeployResult(uploaded, unchanged, len(stale), new.version, warnings, changes)
    return replace(result, publishes=True)


def _unchanged(state: _State, new: Manifest, missing: Sequence[str]) -> bool:
    """The live version already serves exactly this site: nothing to publish."""
    return (
        state.current is not None
        and state.pointer is not None
        and not missing
        and state.current.same_site(new)
    )


def _published(pointer: Pointer | None, version: int) -> tuple[int, ...]:
    return pointer.publish(version).published if pointer is not None else (version,)


async def _publish(
    namespace: KVNamespace,
    direct: KVNamespace,
    lease: DeployLease,
    entries: dict[str, ManifestEntry],
    sources: dict[str, SourceFile],
    warnings: list[str],
    options: _Options,
    progress: ProgressCallback | None,
) -> DeployResult:
    """Upload, publish and clean up, holding the site's deploy lease throughout."""
    from kv.backends import WriteOp
    from kv.bulk import write_batch

    state = await _read_state(direct)
    missing, changes, uploaded, unchanged = _changes(entries, state.existing_assets)
    probe = _manifest(0, entries, warnings, options)
    if _unchanged(state, probe, missing):
        assert state.current is not None
        return DeployResult(0, unchanged, 0, state.current.version, warnings, changes)
    # 1. every asset of the new version, 2. its version number (a failed upload burns none)
    await upload_assets(namespace, missing, sources, progress)
    store = namespace.store
    version = await next_version(store, namespace.id, state.versions, direct.clock())
    new = _manifest(version, entries, warnings, options)
    new_pointer = (
        state.pointer.publish(version)
        if state.pointer is not None
        else Pointer(version, (version,))
    )

    # 3. the manifest, then the one write that makes it live: a compare-and-swap from the
    # pointer this deploy started from, so a deploy that lost its lease cannot clobber
    # another's published history.
    await lease.check()
    await namespace.put(manifest_key(new.version), new.to_json())
    await lease.check()
    if not await store.compare_and_swap(
        namespace.id,
        limits.MANIFEST_POINTER_KEY,
        state.pointer_raw,
        new_pointer.to_json().encode(),
        direct.clock(),
    ):
        found = await read_pointer(direct)
        raise DeployError(
            limits.MSG_POINTER_MOVED.format(
                expected=state.pointer.version if state.pointer is not None else 0,
                found=found.version if found is not None else 0,
            )
        )
    if namespace.cache is not None:
        namespace.cache.invalidate(namespace.id, limits.MANIFEST_POINTER_KEY)
    bump_generation()

    # 4. whatever none of the last `keep` published versions uses: re-read under the lease,
    # from the pointer as it is now, so nothing a live or kept manifest names is deleted.
    await lease.check()
    live = await read_pointer(direct)
    kept = (live.published if live is not None else new_pointer.published)[: options.keep]
    known = {new.version: new}
    if state.current is not None:
        known[state.current.version] = state.current  # read under this lease: still true
    stale = await _stale_assets(state.existing_assets, direct, kept, known)
    old_manifests = sorted(
        manifest_key(v)
        for v in state.versions
        if v not in kept and manifest_key(v) in set(state.existing)
    )
    doomed = stale + old_manifests
    for start in range(0, len(doomed), limits.UPLOAD_BATCH_KEYS):
        await lease.check()
        chunk = doomed[start : start + limits.UPLOAD_BATCH_KEYS]
        await write_batch(namespace, [WriteOp(key, None) for key in chunk])
    changes += [FileChange("-", key, key, 0) for key in stale]
    return DeployResult(
        uploaded, unchanged, len(stale), new.version, warnings, changes, False, True
    )
