"""``edgeworks serve`` on a real Redis Cluster: with replicas (3 primaries + 3 replicas)
a primary is killed mid-run and the same serve process recovers on its own; on the
session cluster two serve processes keep each other's caches fresh over sharded
pub/sub."""

from __future__ import annotations

import time
from pathlib import Path

import redis

from tests.redis_support import RedisClusterNodes
from tests.support import wait_until
from tests.test_scale_out import Location, write_project

KEYS = 20
RECOVERY_TIMEOUT = 30.0  # seconds; a failover takes about 2 x cluster-node-timeout (1 s here)


def test_cluster_primary_failover_recovers_without_restarting_serve(tmp_path: Path) -> None:
    cluster = RedisClusterNodes(tmp_path / "cluster", primaries=3, replicas=1).start()
    try:
        location = Location(write_project(tmp_path / "app", cluster.url, "none"))
        try:
            for i in range(KEYS):
                assert location.put(f"k{i}", f"v{i}").status_code == 200
            primary = cluster.primary_of(b"ew:{kv}:idx")  # the namespace's slot
            probe = redis.Redis(port=primary.port, socket_timeout=5)
            assert probe.wait(1, 5000) == 1  # the replica has every acknowledged write
            probe.close()
            primary.kill()
            killed = time.monotonic()
            failures: list[str] = []
            streak = n = 0
            while streak < 5:  # five rounds in a row of good answers: recovered
                assert time.monotonic() - killed < RECOVERY_TIMEOUT, failures[-3:]
                n += 1
                put = location.put("live", str(n))
                got = location.get(f"k{n % KEYS}")
                for response in (put, got):
                    # At worst a short "store unavailable", never anything else.
                    assert response.status_code in (200, 503), response.text
                    if response.status_code == 503:
                        assert "Store unavailable" in response.text, response.text
                        failures.append(response.text)
                if got.status_code == 200:
                    assert got.text == f"v{n % KEYS}"  # never wrong data
                streak = streak + 1 if (put.status_code, got.status_code) == (200, 200) else 0
            recovered = time.monotonic() - killed
            print(f"recovered {recovered:.1f} s after the kill, {len(failures)} x 503")
            for i in range(KEYS):  # nothing acknowledged before the kill is lost
                assert location.get(f"k{i}").text == f"v{i}"
            assert location.get("live").text == str(n)
            assert location.proc.popen.poll() is None  # the same process throughout
        finally:
            location.stop()
    finally:
        cluster.stop()


def test_cluster_pubsub_write_at_one_serve_process_is_served_by_another(
    redis_cluster_url: str, tmp_path: Path
) -> None:
    # cache_ttl is 60 s: only a sharded invalidation message can make B drop "old".
    project = write_project(tmp_path / "app", redis_cluster_url, "pubsub")
    started = [Location(project, ready=False), Location(project, ready=False)]
    try:
        for location in started:
            location.wait_ready()
        a, b = started
        assert a.put("k", "old").status_code == 200
        assert b.get("k").text == "old"  # B caches it
        assert a.put("k", "new").status_code == 200
        assert wait_until(lambda: b.get("k").text == "new", timeout=2.0)
    finally:
        for location in started:
            location.stop()
