"""The deploy side of the filesystem: walk a bucket, filter it, hash its files.

Rules (docs/sites.md, "Deploying"): skipped names, gitignore-style ``include``/``exclude`` and
``.assetsignore`` (pathspec), symlinks followed only while they stay inside the
bucket, names normalised to NFC (collisions refused), control characters and
backslashes in names refused. Every problem is collected, so one deploy attempt
lists every offender.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sites import limits

if TYPE_CHECKING:
    import pathspec


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file of the bucket: ``path`` is relative, ``/``-separated, NFC."""

    path: str
    fs_path: str
    size: int
    mtime_ns: int
    inode: int


class HashCache:
    """Remembers ``(size, mtime_ns, inode) -> content hash`` per file, in-process.

    The dev server keeps one across redeploys so an unchanged file is not read
    again; the content hash stays the key, the cache only skips recomputing it.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, int, int, str]] = {}

    def get(self, src: SourceFile) -> str | None:
        """The remembered hash of ``src`` if its size, mtime and inode are unchanged."""
        hit = self._entries.get(src.fs_path)
        if hit is not None and hit[:3] == (src.size, src.mtime_ns, src.inode):
            return hit[3]
        return None

    def put(self, src: SourceFile, digest: str) -> None:
        """Remember the hash of ``src`` as it is now."""
        self._entries[src.fs_path] = (src.size, src.mtime_ns, src.inode, digest)

    def forget(self, fs_paths: Iterable[str | os.PathLike[str]]) -> None:
        """Drop entries (for paths the caller knows changed)."""
        for path in fs_paths:
            self._entries.pop(os.path.abspath(path), None)
            self._entries.pop(os.path.realpath(path), None)

    def __len__(self) -> int:
        return len(self._entries)


def _spec(lines: Sequence[str]) -> pathspec.GitIgnoreSpec | None:
    lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return None
    import pathspec  # lazy: only deploys need it

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _bad_name(name: str) -> bool:
    return "\\" in name or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name)


def _inside(target: str, root: str) -> bool:
    return target == root or target.startswith(root + os.sep)


def walk_bucket(
    root: str | os.PathLike[str],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> tuple[list[SourceFile], list[str]]:
    """Every deployable file of ``root`` (sorted by path) and the list of offenders."""
    root_real = os.path.realpath(root)
    ignore_file = os.path.join(root_real, limits.ASSETSIGNORE)
    ignore_lines: list[str] = []
    if os.path.isfile(ignore_file):
        with open(ignore_file, encoding="utf-8", errors="replace") as fh:
            ignore_lines = fh.read().splitlines()
    include_spec = _spec(include)
    skip_spec = _spec([*exclude, *ignore_lines])

    files: dict[str, SourceFile] = {}
    offenders: list[str] = []
    visited: set[str] = {root_real}

    def walk(dir_path: str, rel_dir: str) -> None:
        try:
            entries = sorted(os.scandir(dir_path), key=lambda e: e.name)
        except OSError as exc:
            offenders.append(limits.MSG_UNREADABLE.format(path=rel_dir or ".", error=exc))
            return
        for entry in entries:
            name = entry.name
            if name in limits.SKIPPED_NAMES or (
                name.startswith(".") and name not in limits.ALLOWED_DOT_NAMES
            ):
                continue
            raw_rel = f"{rel_dir}/{name}" if rel_dir else name
            rel = unicodedata.normalize("NFC", raw_rel)
            try:
                st = os.stat(entry.path)  # follows symlinks
            except FileNotFoundError:
                offenders.append(limits.MSG_SYMLINK_BROKEN.format(path=raw_rel))
                continue
            except OSError as exc:
                msg = limits.MSG_SYMLINK_LOOP if entry.is_symlink() else limits.MSG_UNREADABLE
                offenders.append(msg.format(path=raw_rel, error=exc))
                continue
            real = entry.path
            if entry.is_symlink():
                real = os.path.realpath(entry.path)
                if not _inside(real, root_real):
                    if not (skip_spec is not None and skip_spec.match_file(rel)):
                        offenders.append(
                            limits.MSG_SYMLINK_OUTSIDE.format(path=raw_rel, target=real)
                        )
                    continue
            if stat.S_ISDIR(st.st_mode):
                if skip_spec is not None and skip_spec.match_file(rel + "/"):
                    continue
                real_dir = os.path.realpath(real)
                if real_dir in visited:
                    offenders.append(limits.MSG_SYMLINK_LOOP.format(path=raw_rel))
                    continue
                visited.add(real_dir)
                walk(entry.path, raw_rel)
                visited.discard(real_dir)
                continue
            if not stat.S_ISREG(st.st_mode):
                continue  # sockets, FIFOs, devices: never content
            if include_spec is not None and not include_spec.match_file(rel):
                continue
            if skip_spec is not None and skip_spec.match_file(rel):
                continue
            if _bad_name(raw_rel):
                offenders.append(
                    limits.MSG_BAD_NAME.format(path=raw_rel.encode("unicode_escape").decode())
                )
                continue
            if rel in files:
                offenders.append(
                    limits.MSG_NFC_COLLISION.format(path=raw_rel, other=files[rel].fs_path)
                )
                continue
            if st.st_size > limits.MAX_ASSET_BYTES:
                offenders.append(
                    limits.MSG_TOO_BIG.format(
                        path=rel, size=st.st_size, limit=limits.MAX_ASSET_BYTES
                    )
                )
                continue
            files[rel] = SourceFile(
                rel, os.path.abspath(entry.path), st.st_size, st.st_mtime_ns, st.st_ino
            )

    walk(root_real, "")
    return [files[path] for path in sorted(files)], offenders


def hash_bytes(data: bytes | memoryview) -> str:
    """The hex content hash used for keys and ETags (SHA-256)."""
    return hashlib.sha256(data).hexdigest()


def read_file(src: SourceFile) -> bytes:
    """The whole file (deploy limits keep it at most 25 MiB)."""
    with open(src.fs_path, "rb") as fh:
        return fh.read()


def hash_files(
    files: Sequence[SourceFile],
    cache: HashCache | None = None,
    on_done: Callable[[int], None] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Content hashes by relative path (using ``cache`` where valid) and read errors."""
    digests: dict[str, str] = {}
    todo: list[SourceFile] = []
    for src in files:
        hit = cache.get(src) if cache is not None else None
        if hit is None:
            todo.append(src)
        else:
            digests[src.path] = hit
    if on_done is not None and digests:
        on_done(len(digests))
    errors: list[str] = []

    def one(src: SourceFile) -> tuple[SourceFile, str | None, str | None]:
        try:
            return src, hash_bytes(read_file(src)), None
        except OSError as exc:
            return src, None, limits.MSG_UNREADABLE.format(path=src.path, error=exc)

    if todo:
        with ThreadPoolExecutor(max_workers=limits.HASH_THREADS) as pool:
            for src, digest, error in pool.map(one, todo):
                if digest is None:
                    errors.append(error or src.path)
                    continue
                digests[src.path] = digest
                if cache is not None:
                    cache.put(src, digest)
                if on_done is not None:
                    on_done(1)
    return digests, errors


def hashed_key(path: str, digest: str) -> str:
    """``dir/name.<hash10>.ext``: the KV key of a file's content.

    >>> hashed_key("css/site.css", "0123456789abcdef")
    'css/site.0123456789.css'
    """
    directory, name = posixpath.split(path)
    stem, ext = posixpath.splitext(name)
    key = f"{stem}.{digest[: limits.HASH_KEY_CHARS]}{ext}"
    return f"{directory}/{key}" if directory else key
