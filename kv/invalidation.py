"""Pub/sub cache invalidation between locations (opt-in: ``[kv] invalidation = "pubsub"``).

With the Redis store every write (put, delete, batch, namespace delete) publishes
one message on ``INVALIDATION_CHANNEL`` in the same MULTI as the write itself, so
a message never announces a write that did not happen. A location that opted in
runs one :class:`PubSubInvalidator`: on each message from another origin it
drops the named keys from its :class:`~kv.cache.EdgeCache`; then cross-location
staleness is bounded by the network, not by ``cache_ttl``.

On a Redis Cluster the message goes over sharded pub/sub instead (``SPUBLISH``
on the namespace's own channel ``ew:{ns}:inv``, in the namespace's slot and in
the same MULTI as the write), and the invalidator ``SSUBSCRIBE``s to the channels
of the namespaces its location serves (``namespaces``): each message then travels
to the one shard that owns the slot, not to every node of the cluster.

When the subscription is lost, the cache keeps its TTL behaviour (reads are
stale for at most ``cache_ttl``) and the invalidator resubscribes with backoff.
Every (re)subscription clears the cache, because messages were missed meanwhile.

>>> invalidator = PubSubInvalidator(store, cache)   # store: a RedisStore
>>> await invalidator.start()
>>> ...
>>> await invalidator.aclose()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kv.cache import EdgeCache
from kv.limits import (
    INVALIDATION_CHANNEL,
    INVALIDATION_RETRY_MAX,
    INVALIDATION_RETRY_MIN,
    INVALIDATION_START_WAIT,
)

logger = logging.getLogger("edgeworks.kv")

# Seconds one get_message call waits before the loop checks again (and the client
# runs its idle health check).
_POLL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Invalidation:
    """One published write: ``keys is None`` means the whole namespace changed."""

    origin: str
    namespace: str
    keys: tuple[str, ...] | None


def encode_invalidation(origin: str, namespace: str, keys: Sequence[str] | None) -> bytes:
    """The wire form of an invalidation (compact JSON)."""
    body = {"o": origin, "n": namespace, "k": None if keys is None else list(keys)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def decode_invalidation(data: bytes | str) -> Invalidation | None:
    """Parse a message; ``None`` for anything malformed (it is ignored, not fatal)."""
    try:
        body = json.loads(data)
        origin, namespace, keys = body["o"], body["n"], body["k"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(origin, str) or not isinstance(namespace, str):
        return None
    if keys is None:
        return Invalidation(origin, namespace, None)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        return None
    return Invalidation(origin, namespace, tuple(keys))


class InvalidationSource(Protocol):
    """What the invalidator needs from a store (``RedisStore`` provides it)."""

    origin: str
    #: True when invalidations travel per namespace over sharded pub/sub (a cluster).
    sharded: bool

    def pubsub(self) -> Any:
        """A redis-py asyncio ``PubSub`` (``ClusterPubSub`` on a cluster)."""
        ...

    def invalidation_channel(self, namespace: str) -> bytes:
        """The channel that announces writes to ``namespace``."""
        ...


def apply_invalidation(cache: EdgeCache, message: Invalidation, own_origin: str) -> bool:
    """Drop what ``message`` names from ``cache``; ``False`` when it is our own write."""
    if message.origin == own_origin:
        return False  # this location already holds its own write (read-your-writes)
    if message.keys is None:
        cache.invalidate_namespace(message.namespace)
    else:
        for key in message.keys:
            cache.invalidate(message.namespace, key)
    return True


class PubSubInvalidator:
    """Keeps one location's edge cache in step with writes made elsewhere."""

    def __init__(
        self,
        source: InvalidationSource,
        cache: EdgeCache,
        *,
        channel: str = INVALIDATION_CHANNEL,
        namespaces: Sequence[str] = (),
    ) -> None:
        self.source = source
        self.cache = cache
        self.channel = channel
        #: Namespaces whose sharded channels to follow (a cluster store only).
        self.namespaces = tuple(namespaces)
        #: Set while subscribed; tests and health checks may wait on it.
        self.subscribed = asyncio.Event()
        #: How many times a subscription was (re)established.
        self.subscriptions = 0
        #: How many messages from other locations were applied.
        self.applied = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, wait: float | None = None) -> None:
        """Start listening in the background; with ``wait``, wait up to that many
        seconds for the first subscription (a down Redis does not fail the start)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="edgeworks-kv-invalidation")
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.subscribed.wait(), wait)

    async def aclose(self) -> None:
        """Stop listening and close the pub/sub connection."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.subscribed.clear()

    async def _run(self) -> None:
        delay = INVALIDATION_RETRY_MIN
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any loss: fall back to TTL, resubscribe later
                if self.subscribed.is_set():
                    logger.warning("KV invalidation subscription lost (%s); resubscribing", exc)
                self.subscribed.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, INVALIDATION_RETRY_MAX)
            else:  # pragma: no cover - _listen only returns when unsubscribed
                delay = INVALIDATION_RETRY_MIN

    async def _listen(self) -> None:
        pubsub = self.source.pubsub()
        sharded = getattr(self.source, "sharded", False)
        try:
            if sharded:
                channels = [self.source.invalidation_channel(ns) for ns in self.namespaces]
                if not channels:  # nothing cached here can go stale through pub/sub
                    self.subscribed.set()
                    await asyncio.Event().wait()
                await pubsub.ssubscribe(*channels)
                receive = pubsub.get_sharded_message
            else:
                await pubsub.subscribe(self.channel)
                receive = pubsub.get_message
            while True:
                message = await receive(timeout=_POLL_SECONDS)
                if message is None:
                    continue
                kind = message.get("type")
                if kind in ("subscribe", "ssubscribe"):
                    # Also sent when redis-py reconnects on its own: messages may have
                    # been missed, so nothing cached before now can be trusted.
                    self.cache.clear()
                    self.subscriptions += 1
                    self.subscribed.set()
                elif kind in ("message", "smessage"):
                    parsed = decode_invalidation(message["data"])
                    if parsed is None:
                        logger.warning("ignoring malformed KV invalidation %r", message["data"])
                    elif apply_invalidation(self.cache, parsed, self.source.origin):
                        self.applied += 1
        finally:
            self.subscribed.clear()
            with contextlib.suppress(Exception):
                await pubsub.aclose()


#: ``[kv] invalidation`` values (runtime/config.py validates the field).
INVALIDATION_MODES = ("none", "pubsub")
#: Store URL schemes whose stores publish invalidations.
PUBSUB_SCHEMES = ("redis", "rediss", "redis+cluster", "rediss+cluster")


def check_invalidation(store_url: str, mode: str) -> None:
    """Validate ``[kv] invalidation`` against the store URL before serving (no I/O).

    ``ValueError`` says what is wrong and what is allowed.
    """
    if mode not in INVALIDATION_MODES:
        allowed = ", ".join(repr(m) for m in INVALIDATION_MODES)
        raise ValueError(f"[kv] invalidation = {mode!r} is not supported: allowed are {allowed}")
    scheme = store_url.split("://", 1)[0] if "://" in store_url else ""
    if mode == "pubsub" and scheme not in PUBSUB_SCHEMES:
        raise ValueError(
            f'[kv] invalidation = "pubsub" needs a redis:// store, not {store_url}: '
            'use a Redis store or invalidation = "none"'
        )


async def start_invalidation(
    store: object,
    cache: EdgeCache,
    mode: str,
    *,
    wait: float = INVALIDATION_START_WAIT,
    namespaces: Sequence[str] = (),
) -> PubSubInvalidator | None:
    """What a ``serve`` process calls once its store and cache exist.

    ``mode`` is ``[kv] invalidation``: ``"none"`` returns ``None`` (TTL-only
    staleness); ``"pubsub"`` needs a store that publishes invalidations (Redis)
    and returns a started :class:`PubSubInvalidator` (close it at shutdown). It
    waits up to ``wait`` seconds for the first subscription; Redis being down
    does not fail the start, the invalidator keeps retrying. ``namespaces``: the
    namespace ids this location serves (a cluster announces writes per namespace).

    >>> invalidator = await start_invalidation(
    ...     store, cache, config.kv.invalidation, namespaces=config.kv_bindings.values()
    ... )
    """
    if mode == "none":
        return None
    if mode != "pubsub":
        allowed = ", ".join(repr(m) for m in INVALIDATION_MODES)
        raise ValueError(f"[kv] invalidation = {mode!r} is not supported: allowed are {allowed}")
    if not (hasattr(store, "pubsub") and isinstance(getattr(store, "origin", None), str)):
        url = getattr(store, "url", type(store).__name__)
        raise ValueError(
            f'[kv] invalidation = "pubsub" needs a redis:// store, not {url}: '
            'use a Redis store or invalidation = "none"'
        )
    source: InvalidationSource = store  # type: ignore[assignment]
    invalidator = PubSubInvalidator(source, cache, namespaces=namespaces)
    await invalidator.start(wait=wait)
    return invalidator
