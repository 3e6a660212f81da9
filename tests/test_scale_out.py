"""Scale-out with real processes: several ``edgeworks serve`` processes (locations)
sharing one redis-server, with and without pub/sub invalidation, a Redis crash and
restart mid-run, and concurrent writers on one key (an LWW register check)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.redis_support import RedisServer
from tests.support import Proc, edgeworks, wait_until

WORKER = """
from starlette.responses import Response

async def handle_request(request, env):
    if request.url.path != "/kv":
        return Response("pong")
    key = request.query_params["key"]
    if request.method == "PUT":
        await env.KV.put(key, await request.body())
        return Response("ok")
    value = await env.KV.get(key)
    return Response(value if value is not None else "", status_code=200 if value is not None else 404)
"""


def write_project(folder: Path, store_url: str, invalidation: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "worker.py").write_text(WORKER)
    (folder / "edgeworks.toml").write_text(
        f'name = "scale"\nmain = "worker.py"\n\n'
        f'[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n\n'
        f'[kv]\nstore = "{store_url}"\ninvalidation = "{invalidation}"\n'
    )
    return folder


class Location:
    """One ``edgeworks serve`` process and an HTTP client for it."""

    def __init__(self, project: Path, *extra: str, ready: bool = True) -> None:
        self.cwd = project
        self.proc: Proc = edgeworks("serve", "--port", "0", *extra, cwd=project)
        self.url = ""
        self.http = httpx.Client(timeout=10)  # gets its base_url once the process is up
        if ready:
            self.wait_ready()

    def wait_ready(self) -> None:
        match = self.proc.wait_for(r"Listening on (http://\S+)", timeout=20)
        self.url = match.group(1)
        self.http.base_url = httpx.URL(self.url)
        assert wait_until(lambda: self._healthy(), timeout=10), self.proc.output

    def _healthy(self) -> bool:
        try:
            return self.http.get("/__edgeworks/health").status_code == 200
        except httpx.HTTPError:
            return False

    def put(self, key: str, value: str) -> httpx.Response:
        return self.http.put("/kv", params={"key": key}, content=value)

    def get(self, key: str) -> httpx.Response:
        return self.http.get("/kv", params={"key": key})

    def stop(self) -> None:
        self.http.close()
        self.proc.stop()


@pytest.fixture(scope="module")
def trio(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Location, Location, Location]]:
    """A and B with pub/sub invalidation, C with TTL only; one Redis."""
    root = tmp_path_factory.mktemp("scale")
    pubsub = write_project(root / "pubsub", redis_server.url, "pubsub")
    ttl_only = write_project(root / "ttl", redis_server.url, "none")
    started: list[Location] = []
    try:
        for project in (pubsub, pubsub, ttl_only):  # start all three, then wait for each
            started.append(Location(project, ready=False))
        for location in started:
            location.wait_ready()
        yield started[0], started[1], started[2]
    finally:
        for location in started:
            location.stop()


def _eventually(check: object, timeout: float) -> float:
    """Seconds until ``check()`` is true (real time: waiting for the network, not a TTL)."""
    start = time.monotonic()
    assert callable(check)
    assert wait_until(check, timeout=timeout, interval=0.005), "not visible in time"
    return time.monotonic() - start


def test_scale_out_pubsub_write_is_served_elsewhere_within_a_second(
    trio: tuple[Location, Location, Location],
) -> None:
    a, b, _ = trio
    assert a.put("pubsub-k", "old").status_code == 200
    assert b.get("pubsub-k").text == "old"  # B caches the old value now
    assert a.put("pubsub-k", "new").status_code == 200
    assert a.get("pubsub-k").text == "new"  # read-your-writes at A
    elapsed = _eventually(lambda: b.get("pubsub-k").text == "new", timeout=1.0)
    assert elapsed < 1.0


def test_scale_out_pubsub_new_key_beats_negative_cache(
    trio: tuple[Location, Location, Location],
) -> None:
    a, b, _ = trio
    assert b.get("pubsub-new").status_code == 404  # "not found" cached at B
    a.put("pubsub-new", "here")
    _eventually(lambda: b.get("pubsub-new").status_code == 200, timeout=1.0)


def test_scale_out_ttl_only_first_read_after_write_is_fresh_cached_stays_stale(
    trio: tuple[Location, Location, Location],
) -> None:
    a, _, c = trio
    a.put("ttl-k", "v1")
    assert c.get("ttl-k").text == "v1"  # never read at C before: served at once
    a.put("ttl-k", "v2")
    time.sleep(0.3)  # give a (non-existent) invalidation time to arrive
    assert c.get("ttl-k").text == "v1"  # C has no pub/sub: stale until cache_ttl


def test_scale_out_concurrent_writers_one_key_last_write_wins(
    trio: tuple[Location, Location, Location], redis_server: RedisServer
) -> None:
    a, b, _ = trio
    written: dict[str, list[str]] = {"a": [], "b": []}
    errors: list[str] = []
    newest_other_seen = {"a": -1, "b": -1}

    def writer(name: str, location: Location) -> None:
        with httpx.Client(base_url=location.url, timeout=10) as http:
            for i in range(40):
                value = f"{name}-{i}"
                r = http.put("/kv", params={"key": "lww"}, content=value)
                if r.status_code != 200:
                    errors.append(f"{value}: {r.status_code}")
                written[name].append(value)
                seen = http.get("/kv", params={"key": "lww"}).text
                # read-your-writes, unless the other writer wrote since
                other = "a-" if name == "b" else "b-"
                if seen != value and not seen.startswith(other):
                    errors.append(f"{name} wrote {value}, read {seen}")
                # monotonic reads at this location: never an older write of the other
                if seen.startswith(other):
                    index = int(seen.split("-")[1])
                    if index < newest_other_seen[name]:
                        errors.append(f"{name} read {seen} after {other}{newest_other_seen[name]}")
                    newest_other_seen[name] = index

    threads = [
        threading.Thread(target=writer, args=("a", a)),
        threading.Thread(target=writer, args=("b", b)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    client = redis.Redis(port=redis_server.port)
    stored = client.hget(b"ew:{kv}:k:lww", "v")
    client.close()
    assert stored is not None
    final = stored.decode()
    assert final in written["a"] + written["b"]
    assert final in (written["a"][-1], written["b"][-1])  # each writer's last write is its latest
    # Both locations converge on the stored value (pub/sub invalidated the loser's copy).
    for location in (a, b):
        _eventually(lambda loc=location: loc.get("lww").text == final, timeout=2.0)


def test_scale_out_redis_crash_gives_503_then_recovers_without_restart(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    location = None
    try:
        location = Location(write_project(tmp_path / "app", server.url, "pubsub"))
        assert location.put("crash-k", "v").status_code == 200
        server.kill()
        started = time.monotonic()
        r = location.get("crash-other")
        assert r.status_code == 503
        assert "Store unavailable" in r.text, r.text
        assert time.monotonic() - started < 5
        assert location.get("crash-k").text == "v"  # the cached copy while fresh
        assert location.put("crash-k", "w").status_code == 503
        assert location.http.get("/").text == "pong"  # non-KV requests unaffected
        assert location.http.get("/__edgeworks/health").status_code == 200
        server.start()  # same port, empty (no persistence)
        _eventually(lambda: location.put("crash-k", "back").status_code == 200, timeout=10)
        assert location.get("crash-k").text == "back"
        assert location.get("crash-other").status_code == 404
    finally:
        if location is not None:
            location.stop()
        server.stop()


def test_scale_out_workers_2_processes_invalidate_each_other(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    location = Location(
        write_project(tmp_path / "app", redis_server.url, "pubsub"), "--workers", "2"
    )
    try:
        location.put("multi-k", "old")
        # New connections spread over both processes: warm both caches with "old".
        for _ in range(12):
            with httpx.Client(base_url=location.url, timeout=10) as fresh:
                assert fresh.get("/kv", params={"key": "multi-k"}).text == "old"
        location.put("multi-k", "new")

        def everyone_sees_new() -> bool:
            for _ in range(8):
                with httpx.Client(base_url=location.url, timeout=10) as fresh:
                    if fresh.get("/kv", params={"key": "multi-k"}).text != "new":
                        return False
            return True

        _eventually(everyone_sees_new, timeout=2.0)
    finally:
        location.stop()


def test_scale_out_serve_pubsub_without_redis_is_a_config_error(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", "memory", "pubsub")
    proc = edgeworks("serve", "--port", "0", cwd=project)
    assert proc.wait(timeout=20) == 2
    assert 'invalidation = "pubsub" needs a redis:// store' in proc.output
    assert "Listening" not in proc.output


def test_scale_out_cli_write_invalidates_serving_locations(
    trio: tuple[Location, Location, Location],
) -> None:
    a, b, _ = trio
    a.put("cli-k", "old")
    assert b.get("cli-k").text == "old"
    cli = edgeworks("kv", "key", "put", "cli-k", "from-cli", "--binding", "KV", cwd=a.cwd)
    assert cli.wait(timeout=20) == 0, cli.output
    _eventually(lambda: b.get("cli-k").text == "from-cli", timeout=1.0)
    _eventually(lambda: a.get("cli-k").text == "from-cli", timeout=1.0)
