"""One deploy of a site at a time: a lease in the site's own namespace.

The lease is one small JSON record under ``DEPLOY_LEASE_KEY`` naming its holder
(host and pid), when it started and when it expires. It is taken, renewed and
released with the store's compare-and-swap, so two deploys can never both hold
it; a holder renews it every ``DEPLOY_LEASE_RENEW_S`` while it works, so a lease
whose holder died (``kill -9``, a lost host) expires after ``DEPLOY_LEASE_TTL_S``
and the next deploy takes it over. A deploy that finds it held waits (bounded)
and then fails with one line naming the holder.

Version numbers come from a counter under ``DEPLOY_VERSION_KEY``, also advanced by
compare-and-swap, so no two deploys ever get the same version, lease or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from sites import limits
from sites.errors import DeployError

if TYPE_CHECKING:
    from kv.backends import Store

logger = logging.getLogger("edgeworks.sites")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """What the lease key holds."""

    holder: str
    token: str
    started: float
    expires: float

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "holder": self.holder,
                "token": self.token,
                "started": self.started,
                "expires": self.expires,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> LeaseRecord | None:
        """The record, or ``None`` for bytes that are not one (then it counts as expired)."""
        try:
            data = json.loads(raw)
            return cls(
                str(data["holder"]),
                str(data["token"]),
                float(data["started"]),
                float(data["expires"]),
            )
        except (ValueError, TypeError, KeyError):
            return None


def holder_name() -> str:
    """``host pid N``: who holds a lease, as a person reading the error needs it."""
    return f"{socket.gethostname()} pid {os.getpid()}"


class DeployLease:
    """``async with DeployLease(store, namespace_id):`` holds the site's deploy lease.

    Entering waits up to ``wait`` seconds for a lease held by someone else (or takes
    over an expired one); leaving releases it. While held, a background task renews
    it; ``await lease.check()`` renews it at once and raises ``DeployError`` if it
    was lost, so a deploy calls it before each step that others could see.
    """

    def __init__(
        self,
        store: Store,
        namespace_id: str,
        *,
        wait: float = limits.DEPLOY_LEASE_WAIT_S,
        ttl: float = limits.DEPLOY_LEASE_TTL_S,
        renew_every: float = limits.DEPLOY_LEASE_RENEW_S,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        holder: str | None = None,
    ) -> None:
        self.store = store
        self.namespace_id = namespace_id
        self.wait = wait
        self.ttl = ttl
        self.renew_every = renew_every
        self.clock = clock
        self.sleep = sleep
        self.holder = holder or holder_name()
        self.record: LeaseRecord | None = None
        self._lock = asyncio.Lock()
        self._lost = False
        self._renewer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DeployLease:
        await self.acquire()
        self._renewer = asyncio.ensure_future(self._renew_forever())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        await self.release()

    async def acquire(self) -> None:
        """Take the lease, waiting up to ``wait`` s; ``DeployError`` when still held."""
        start = self.clock()
        mine = LeaseRecord(self.holder, uuid.uuid4().hex, start, start + self.ttl)
        while True:
            now = self.clock()
            entry = await self.store.get(self.namespace_id, limits.DEPLOY_LEASE_KEY, now)
            held = None if entry is None else LeaseRecord.from_bytes(entry.value)
            if held is not None and held.token == mine.token and held.expires > now:
                # Our own write, though the swap answered no (a reply lost and the
                # command retried after it had been applied): the lease is ours.
                self.record = held
                return
            if entry is None or held is None or held.expires <= now:
                mine = LeaseRecord(mine.holder, mine.token, now, now + self.ttl)
                expected = None if entry is None else entry.value
                if await self.store.compare_and_swap(
                    self.namespace_id, limits.DEPLOY_LEASE_KEY, expected, mine.to_bytes(), now
                ):
                    if held is not None:
                        logger.warning(
                            "took over the expired deploy lease of %s (started %.0fs ago)",
                            held.holder,
                            now - held.started,
                        )
                    self.record = mine
                    return
                continue  # someone else changed it meanwhile: look again
            waited = now - start
            if waited >= self.wait:
                raise DeployError(
                    limits.MSG_LEASE_BUSY.format(
                        holder=held.holder,
                        age=now - held.started,
                        waited=waited,
                        left=held.expires - now,
                    )
                )
            await self.sleep(min(limits.DEPLOY_LEASE_POLL_S, self.wait - waited))

    async def check(self) -> None:
        """Renew the lease now; ``DeployError`` if it expired and someone took it."""
        if self._lost or not await self._renew():
            self._lost = True
            raise DeployError(limits.MSG_LEASE_LOST.format(ttl=self.ttl))

    async def release(self) -> None:
        """Give the lease back (a no-op when it was lost meanwhile)."""
        async with self._lock:
            record, self.record = self.record, None
            if record is None:
                return
            with contextlib.suppress(Exception):  # it expires on its own otherwise
                await self.store.compare_and_swap(
                    self.namespace_id,
                    limits.DEPLOY_LEASE_KEY,
                    record.to_bytes(),
                    None,
                    self.clock(),
                )

    async def _renew(self) -> bool:
        async with self._lock:
            record = self.record
            if record is None:
                return False
            now = self.clock()
            if record.expires <= now:
                return False  # expired: another deploy may already have taken it
            renewed = LeaseRecord(record.holder, record.token, record.started, now + self.ttl)
            if not await self.store.compare_and_swap(
                self.namespace_id,
                limits.DEPLOY_LEASE_KEY,
                record.to_bytes(),
                renewed.to_bytes(),
                now,
            ):
                # Lost only if the stored lease is not ours: a swap whose reply was lost
                # and retried after it had been applied also answers no.
                entry = await self.store.get(self.namespace_id, limits.DEPLOY_LEASE_KEY, now)
                stored = None if entry is None else LeaseRecord.from_bytes(entry.value)
                if stored is None or stored.token != record.token or stored.expires <= now:
                    return False
                renewed = stored
            self.record = renewed
            return True

    async def _renew_forever(self) -> None:
        while not self._lost:
            await self.sleep(self.renew_every)
            try:
                if not await self._renew():
                    self._lost = True
            except Exception as exc:  # a store hiccup: the next renewal may succeed
                logger.warning("renewing the deploy lease failed: %s", exc)


async def next_version(store: Store, namespace_id: str, seen: Iterable[int], now: float) -> int:
    """A version number no deploy of this site had before (above ``seen`` too)."""
    floor = max(seen, default=0)
    while True:
        entry = await store.get(namespace_id, limits.DEPLOY_VERSION_KEY, now)
        last = 0
        if entry is not None and entry.value.isdigit():
            last = int(entry.value)
        version = max(last, floor) + 1
        if await store.compare_and_swap(
            namespace_id,
            limits.DEPLOY_VERSION_KEY,
            None if entry is None else entry.value,
            str(version).encode(),
            now,
        ):
            return version
