"""The site deploy lease (sites/_lease.py) and what deploy does with it, on a memory
store with a fake clock: waiting, failing with one line, expiry of a dead holder's
lease, versions that never repeat, a publish that lost the race."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from kv import KVNamespace
from kv.backends import Store
from runtime.testing import FakeClock
from sites import DeployError, current_manifest, deploy, limits
from sites._lease import DeployLease, LeaseRecord, next_version
from tests.sites.conftest import SITE_NS, SpyStore

Make = Callable[..., Path]


def _lease(store: Store, clock: FakeClock, holder: str, **kwargs: float) -> DeployLease:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)  # waiting moves the fake time on; no real sleep
        await asyncio.sleep(0)

    return DeployLease(store, SITE_NS, clock=clock, sleep=sleep, holder=holder, **kwargs)


async def test_lease_second_holder_waits_then_fails_with_one_line(
    store: Store, clock: FakeClock
) -> None:
    await _lease(store, clock, "host-a pid 1").acquire()
    with pytest.raises(DeployError) as caught:
        await _lease(store, clock, "host-b pid 2", wait=3.0).acquire()
    message = str(caught.value)
    assert "\n" not in message
    assert "another deploy of this site is running (host-a pid 1" in message
    assert "waited 3s" in message


async def test_lease_is_free_again_after_release(store: Store, clock: FakeClock) -> None:
    first = _lease(store, clock, "a")
    await first.acquire()
    await first.release()
    second = _lease(store, clock, "b", wait=0.0)
    await second.acquire()
    assert second.record is not None and second.record.holder == "b"


async def test_lease_of_a_dead_holder_expires_and_is_taken_over(
    store: Store, clock: FakeClock
) -> None:
    dead = _lease(store, clock, "dead pid 9", ttl=30.0)
    await dead.acquire()  # never renewed, never released: its process was killed
    clock.advance(10)
    waiting = _lease(store, clock, "next", ttl=30.0, wait=60.0)
    await waiting.acquire()
    assert dead.record is not None and clock() >= dead.record.expires
    entry = await store.get(SITE_NS, limits.DEPLOY_LEASE_KEY, clock())
    assert entry is not None
    record = LeaseRecord.from_bytes(entry.value)
    assert record is not None and record.holder == "next"
    # The old holder wakes up: it must notice, not carry on.
    with pytest.raises(DeployError, match="lost its lease"):
        await dead.check()


async def test_lease_renewal_keeps_a_long_deploy_safe(store: Store, clock: FakeClock) -> None:
    holder = _lease(store, clock, "a", ttl=30.0)
    await holder.acquire()
    for _ in range(10):  # 100 s of work, renewed every 10 s
        clock.advance(10)
        await holder.check()
    with pytest.raises(DeployError, match="another deploy"):
        await _lease(store, clock, "b", wait=0.0).acquire()


async def test_next_version_never_repeats_under_concurrency(store: Store) -> None:
    async def allocate() -> int:
        await asyncio.sleep(0)
        return await next_version(store, SITE_NS, [3], 0.0)

    versions = await asyncio.gather(*(allocate() for _ in range(30)))
    assert sorted(versions) == list(range(4, 34))


async def test_deploy_fails_clearly_while_another_holds_the_lease(
    bucket: Make, ns: KVNamespace, store: Store
) -> None:
    first = await deploy(bucket({"index.html": "v1"}), ns)
    other = DeployLease(store, SITE_NS, holder="ci-runner pid 77")
    async with other:
        with pytest.raises(DeployError, match=r"ci-runner pid 77"):
            await deploy(bucket({"index.html": "v2"}, name="b"), ns, lease_wait=0.0)
    live = await current_manifest(ns)
    assert live is not None and live.version == first.version
    # Once released, the same deploy goes through.
    result = await deploy(bucket({"index.html": "v2"}, name="b"), ns)
    assert result.published and result.version == first.version + 1


async def test_deploy_that_lost_the_pointer_race_publishes_nothing(
    bucket: Make, spy: SpyStore, spy_ns: KVNamespace, store: Store
) -> None:
    await deploy(bucket({"index.html": "v1"}), spy_ns)

    async def sneak_in() -> None:
        # Another writer moves the pointer between this deploy's manifest and its switch
        # (what a deploy whose lease expired while it was paused would do).
        spy.before_write = None
        await store.put(
            SITE_NS,
            limits.MANIFEST_POINTER_KEY,
            b'{"version": 1, "published": [1, 99]}',
            None,
            None,
        )

    spy.before_write = sneak_in
    with pytest.raises(DeployError, match="live version changed while this deploy ran"):
        await deploy(bucket({"index.html": "v2"}, name="b"), spy_ns)
    live = await current_manifest(spy_ns)
    assert live is not None and live.version == 1
    assert live.files["index.html"].key in {k.name for k in (await spy_ns.list()).keys}
