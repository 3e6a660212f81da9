"""``KVNamespace``: the binding a worker sees as ``env.NAME`` (docs/kv.md).

The namespace owns behaviour: validation and limits, encoding, expiration with the
injected clock, the edge cache, list cursors and the mapping of store failures to
503 errors. The store below it only keeps bytes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from time import perf_counter
from types import TracebackType
from typing import Any

from kv import _validate as V
from kv import limits as L
from kv._cursor import decode_cursor, encode_cursor
from kv._results import KeyItem, ListResult, ValueWithMetadata
from kv._usage import WriteRate, count_operation
from kv._values import chunks_of, decode_value, read_value
from kv.backends.base import Buffer, Entry, Store
from kv.cache import EdgeCache
from kv.errors import KVError, StoreUnavailable
from kv.stats import KV_STATS

Clock = Callable[[], float]
_Keys = list[str] | tuple[str, ...]


class store_errors:  # lower case: it reads like a function, ``with store_errors(op):``
    """Turn a backend's ``StoreUnavailable`` into the 503 ``KVError`` of ``op``.

    A class, not ``@contextmanager``: it wraps every store call, so it is kept cheap.

    Also times the store call for the metrics (``KV_STATS.store_seconds``).
    """

    __slots__ = ("kind", "op", "started")

    def __init__(self, op: str, kind: str) -> None:
        self.op = op
        self.kind = kind
        self.started = 0.0

    def __enter__(self) -> None:
        self.started = perf_counter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        KV_STATS.store_call(self.kind, perf_counter() - self.started)
        if isinstance(exc, StoreUnavailable):
            detail = L.MSG_STORE_UNAVAILABLE.format(detail=exc)
            raise KVError(self.op, L.STATUS_UNAVAILABLE, detail) from exc


def _pick(options: object, names: tuple[str, ...], given: object) -> Any:
    """A keyword argument if given, else the first of ``names`` in an options dict."""
    if given is not None or options is None or isinstance(options, str):
        return given
    if isinstance(options, Mapping):
        for name in names:
            if options.get(name) is not None:
                return options[name]
    return None


async def _guarded(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    with store_errors(L.OP_GET, L.KIND_GET):
        async for chunk in chunks:
            yield chunk


def _live(entry: Entry | None, now: float) -> Entry | None:
    # Stores never return expired entries; checking again costs one comparison.
    if entry is not None and entry.expiration is not None and entry.expiration <= now:
        return None
    return entry


class KVNamespace:
    """A KV namespace over a store, with Workers KV semantics.

    >>> ns = KVNamespace(open_store("memory://"), "my-namespace")
    >>> await ns.put("greeting", "hello", expiration_ttl=3600, metadata={"lang": "en"})
    >>> await ns.get("greeting")
    'hello'

    ``clock`` returns epoch seconds (tests inject a fake one). With ``cache`` (one
    ``EdgeCache`` per location) reads are cached for ``cache_ttl`` seconds and report
    ``cache_status``. ``limit_write_rate=True`` enforces the production limit of one
    write per second per key (429).
    """

    def __init__(
        self,
        store: Store,
        namespace_id: str,
        *,
        clock: Clock = time.time,
        cache: EdgeCache | None = None,
        cache_ttl_default: float = L.DEFAULT_CACHE_TTL,
        limit_write_rate: bool = False,
    ) -> None:
        self.store = store
        self.id = namespace_id
        self.clock = clock
        self.cache = cache
        self.cache_ttl_default = cache_ttl_default  # validated once, by the setter
        self.limit_write_rate = limit_write_rate
        self._write_rate = WriteRate()

    def __repr__(self) -> str:
        return f"<KVNamespace {self.id!r} on {self.store.url}>"

    @property
    def cache_ttl_default(self) -> float:
        """Seconds a read is cached when the call gives no ``cache_ttl`` (at least 30)."""
        return self._cache_ttl_default

    @cache_ttl_default.setter
    def cache_ttl_default(self, value: float) -> None:
        # Checked here, not on every read: reads without cache_ttl are the hot path.
        self._cache_ttl_default = V.check_cache_ttl(value, L.OP_GET)

    def without_cache(self) -> KVNamespace:
        """This namespace read straight from the store (same store, id and clock; no
        edge cache): for reads that must not be stale, like a site's manifest pointer."""
        twin = KVNamespace(
            self.store,
            self.id,
            clock=self.clock,
            cache_ttl_default=self.cache_ttl_default,
            limit_write_rate=self.limit_write_rate,
        )
        twin._write_rate = self._write_rate
        return twin

    # --- get ------------------------------------------------------------------

    async def get(
        self,
        key: str | _Keys,
        type: str | Mapping[str, Any] | None = "text",
        *,
        cache_ttl: float | None = None,
        cacheTtl: float | None = None,  # the Workers name
    ) -> Any:
        """The value of ``key`` (``None`` when absent or expired) as ``type``: ``"text"``
        (``str``), ``"json"``, ``"bytes"``/``"arrayBuffer"`` or ``"stream"`` (an async
        iterator of ``bytes``). A list of keys is a bulk get: a dict of key -> value."""
        type_, ttl = self._get_options(type, cache_ttl, cacheTtl)
        if key.__class__ is not str and isinstance(key, list | tuple):
            found = await self._bulk(key, type_, ttl)
            return {k: None if r is None else r[0] for k, r in found.items()}
        value, _, _ = await self._get_one(key, type_, ttl)
        return value

    async def get_with_metadata(
        self,
        key: str | _Keys,
        type: str | Mapping[str, Any] | None = "text",
        *,
        cache_ttl: float | None = None,
        cacheTtl: float | None = None,  # the Workers name
    ) -> Any:
        """Like ``get``, with the metadata: a ``ValueWithMetadata`` (all ``None`` for a
        missing key). Bulk: a dict of key -> ``ValueWithMetadata`` or ``None``."""
        type_, ttl = self._get_options(type, cache_ttl, cacheTtl)
        if key.__class__ is not str and isinstance(key, list | tuple):
            found = await self._bulk(key, type_, ttl)
            return {
                k: None if r is None else ValueWithMetadata(r[0], V.decode_metadata(r[1]), r[2])
                for k, r in found.items()
            }
        value, metadata, status = await self._get_one(key, type_, ttl)
        if value is None:
            return ValueWithMetadata()
        return ValueWithMetadata(value, V.decode_metadata(metadata), status)

    getWithMetadata = get_with_metadata  # the Workers name

    def _get_options(
        self, type_: object, cache_ttl: object, cache_ttl_alias: object
    ) -> tuple[object, object]:
        given = cache_ttl if cache_ttl is not None else cache_ttl_alias
        if isinstance(type_, str):
            return type_, given
        ttl = _pick(type_, ("cacheTtl", "cache_ttl"), given)
        if isinstance(type_, Mapping):
            type_ = type_.get("type")
        return ("text" if type_ is None else type_), ttl

    def _cache_ttl(self, cache_ttl: object, op: str) -> float:
        if cache_ttl is None:
            return self._cache_ttl_default
        if cache_ttl.__class__ is int or cache_ttl.__class__ is float:
            # The valid case in one comparison (NaN fails it); bool is an int subclass
            # and takes the full check.
            assert isinstance(cache_ttl, int | float)
            if cache_ttl >= L.MIN_CACHE_TTL:
                return cache_ttl
        return V.check_cache_ttl(cache_ttl, op)

    async def _get_one(
        self, key: object, type_: object, cache_ttl: object
    ) -> tuple[Any, str | None, str | None]:
        """(value, metadata JSON, cache status) of one key; value ``None`` if missing."""
        V.check_key(key, L.OP_GET)
        assert isinstance(key, str)
        kind = V.check_get_type(type_)
        ttl = self._cache_ttl(cache_ttl, L.OP_GET)
        count_operation(L.OP_GET, L.KIND_GET)
        if kind == "stream":
            return await self._stream(key, ttl)
        now = self.clock()
        cache = self.cache
        # A cache hit is answered here, without awaiting the store read's coroutine: hits
        # are the hot path of a location (~0.3 us of each read).
        hit = None if cache is None else cache.lookup(self.id, key, now, ttl)
        entry: Entry | None
        status: str | None
        if hit is not None:
            entry, status = _live(hit.entry, now), "HIT"
        else:
            entry, status = await self._read(key, now)
        if entry is None:
            return None, None, None
        return decode_value(entry.value, kind), entry.metadata, status

    async def _read(self, key: str, now: float) -> tuple[Entry | None, str | None]:
        """A store read after a cache miss (or without a cache), filling the cache."""
        with store_errors(L.OP_GET, L.KIND_GET):
            entry = _live(await self.store.get(self.id, key, now), now)
        if self.cache is None:
            return entry, None
        self.cache.fill(self.id, key, entry, now)
        return entry, "MISS"

    async def _stream(
        self, key: str, ttl: float
    ) -> tuple[AsyncIterator[bytes] | None, str | None, str | None]:
        now = self.clock()
        status: str | None = None
        if self.cache is not None:
            hit = self.cache.lookup(self.id, key, now, ttl)
            if hit is not None:
                entry = _live(hit.entry, now)
                if entry is None:
                    return None, None, None
                return chunks_of(entry.value), entry.metadata, "HIT"
            status = "MISS"
        with store_errors(L.OP_GET, L.KIND_GET):
            found = await self.store.stream(self.id, key, now, L.STREAM_CHUNK_BYTES)
        if found is not None and found.expiration is not None and found.expiration <= now:
            found = None
        if found is None:
            if self.cache is not None:
                self.cache.fill(self.id, key, None, now)
            return None, None, None
        if self.cache is None or found.size > L.LARGE_VALUE_BYTES:
            return _guarded(found.chunks), found.metadata, status
        buffer = bytearray()
        async for chunk in _guarded(found.chunks):
            buffer += chunk
        entry = Entry(bytes(buffer), found.expiration, found.metadata)
        self.cache.fill(self.id, key, entry, now)
        return chunks_of(entry.value), entry.metadata, status

    async def _bulk(
        self, keys: list[Any] | tuple[Any, ...], type_: object, cache_ttl: object
    ) -> dict[str, tuple[Any, str | None, str | None] | None]:
        """key -> (value, metadata JSON, cache status) or ``None``, in request order."""
        op = L.OP_GET_BULK
        unique = V.check_bulk(keys, type_)
        ttl = self._cache_ttl(cache_ttl, op)
        count_operation(op, L.KIND_GET_BULK)
        now = self.clock()
        found: dict[str, tuple[Entry | None, str | None]] = {}
        misses: list[str] = []
        for key in unique:
            hit = None if self.cache is None else self.cache.lookup(self.id, key, now, ttl)
            if hit is None:
                misses.append(key)
            else:
                found[key] = (_live(hit.entry, now), "HIT")
        if misses:
            with store_errors(op, L.KIND_GET_BULK):
                entries = await self.store.get_many(self.id, misses, now)
            status = None if self.cache is None else "MISS"
            for key, entry in zip(misses, entries, strict=True):
                if self.cache is not None:
                    self.cache.fill(self.id, key, entry, now)
                found[key] = (_live(entry, now), status)
        total = sum(len(e.value) for e, _ in found.values() if e is not None)
        if total > L.MAX_BULK_GET_BYTES:
            raise KVError(op, L.STATUS_TOO_LARGE, L.MSG_BULK_TOO_LARGE)
        result: dict[str, tuple[Any, str | None, str | None] | None] = {}
        for key in unique:
            entry, status = found[key]
            if entry is None:
                result[key] = None
                continue
            try:
                value = decode_value(entry.value, str(type_))
            except ValueError:
                raise KVError(op, L.STATUS_BAD_REQUEST, L.MSG_BULK_NOT_JSON) from None
            result[key] = (value, entry.metadata, status)
        return result

    # --- put / delete -----------------------------------------------------------

    async def put(
        self,
        key: str,
        value: str | Buffer | AsyncIterable[bytes],
        options: Mapping[str, Any] | None = None,
        *,
        expiration: float | None = None,
        expiration_ttl: float | None = None,
        expirationTtl: float | None = None,  # the Workers name
        metadata: Any = None,
    ) -> None:
        """Store ``value`` under ``key``, replacing value, expiration and metadata.

        ``value``: ``str``, ``bytes``, ``bytearray``, ``memoryview`` or an async
        iterable of bytes (read as it arrives, stopped at the size limit).
        ``expiration``: absolute epoch seconds; ``expiration_ttl``: seconds from now
        (wins over ``expiration``); ``metadata``: any JSON value. ``options`` is the
        same as a dict (camelCase or snake_case), as in Python Workers.
        """
        given_ttl = expiration_ttl if expiration_ttl is not None else expirationTtl
        ttl = _pick(options, ("expirationTtl", "expiration_ttl"), given_ttl)
        absolute = _pick(options, ("expiration",), expiration)
        meta = _pick(options, ("metadata",), metadata)
        V.check_key(key, L.OP_PUT)
        if not isinstance(value, str | bytes | bytearray | memoryview) and not hasattr(
            value, "__aiter__"
        ):
            raise TypeError(L.MSG_PUT_VALUE_TYPE)
        now = self.clock()
        expires = V.resolve_expiration(absolute, ttl, now)
        meta_text = V.encode_metadata(meta)
        data = await read_value(value)
        if self.limit_write_rate:
            self._write_rate.check(self.id, key, now)
        count_operation(L.OP_PUT, L.KIND_PUT)
        with store_errors(L.OP_PUT, L.KIND_PUT):
            await self.store.put(self.id, key, data, expires, meta_text)
        if self.limit_write_rate:
            self._write_rate.wrote(self.id, key, now)
        if self.cache is not None:
            if len(data) <= L.LARGE_VALUE_BYTES:
                self.cache.wrote(self.id, key, Entry(bytes(data), expires, meta_text), now)
            else:
                self.cache.invalidate(self.id, key)

    async def delete(self, key: str) -> None:
        """Remove ``key``; deleting a missing key succeeds."""
        V.check_key(key, L.OP_DELETE)
        count_operation(L.OP_DELETE, L.KIND_DELETE)
        now = self.clock()
        with store_errors(L.OP_DELETE, L.KIND_DELETE):
            await self.store.delete(self.id, key)
        if self.cache is not None:
            self.cache.wrote(self.id, key, None, now)

    # --- list (last: the method name shadows the builtin in the class body) -----

    async def list(
        self,
        options: Mapping[str, Any] | None = None,
        *,
        prefix: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> ListResult:
        """A page of keys in UTF-8 byte order, at most ``limit`` (default and maximum
        1000). When ``list_complete`` is false, pass ``cursor`` back with the same
        ``prefix`` for the next page.

        >>> page = await ns.list(prefix="user:")
        >>> while not page.list_complete:
        ...     page = await ns.list(prefix="user:", cursor=page.cursor)
        """
        text = V.check_prefix(_pick(options, ("prefix",), prefix))
        count = V.check_list_limit(_pick(options, ("limit",), limit))
        given = _pick(options, ("cursor",), cursor)
        start_after = decode_cursor(self.id, text, given) if given not in (None, "") else None
        count_operation(L.OP_LIST, L.KIND_LIST)
        now = self.clock()
        with store_errors(L.OP_LIST, L.KIND_LIST):
            infos = await self.store.list_keys(self.id, text, start_after, count + 1, now)
        page = infos[:count]
        # Stores never list expired keys; checking again is cheap. Completeness and the
        # cursor come from what the store returned, so a dropped key never ends a walk.
        items = [
            KeyItem(
                i.name,
                None if i.expiration is None else int(i.expiration),
                V.decode_metadata(i.metadata),
            )
            for i in page
            if i.expiration is None or i.expiration > now
        ]
        if len(infos) <= count:
            return ListResult(items, True, None)
        return ListResult(items, False, encode_cursor(self.id, text, page[-1].name))
