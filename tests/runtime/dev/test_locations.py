"""``dev --locations``: per-location caches over one store, the location header in and
out, and dev clock control — through the real ASGI app with httpx's ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kv import open_store
from runtime.app import create_app
from runtime.dev.locations import DevClock, Locations, parse_locations
from runtime.env import build_env
from runtime.loader import load_worker

WORKER = """
from starlette.responses import Response

async def handle_request(request, env):
    key = request.query_params["key"]
    if request.method == "PUT":
        ttl = request.query_params.get("ttl")
        await env.KV.put(key, await request.body(), expiration_ttl=int(ttl) if ttl else None)
        return Response("ok")
    found = await env.KV.get_with_metadata(key)
    return Response(str(found.value), headers={"x-cache": str(found.cache_status)})
"""


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Locations]]:
    (tmp_path / "worker.py").write_text(WORKER)
    store = open_store("memory://")
    locations = Locations.from_option("sfo,ams")
    host = locations.host()
    host.swap(
        load_worker(tmp_path / "worker.py"), build_env(store=store, kv_namespaces={"KV": "kv"})
    )
    app = locations.wrap(
        create_app(host, mode="dev", extra_routes=locations.routes(), access_log=False)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dev") as http:
        yield http, locations
    await store.aclose()


def at(location: str) -> dict[str, str]:
    return {"X-Edgeworks-Location": location}


def test_parse_locations_count_and_names() -> None:
    assert parse_locations("3") == ["sfo", "ams", "sin"]
    assert parse_locations(12)[-2:] == ["loc11", "loc12"]
    assert parse_locations("lhr, cdg") == ["lhr", "cdg"]
    for bad in ["0", "33", "a,a", "Bad Name", "", "x,,y"]:
        with pytest.raises(ValueError, match="--locations"):
            parse_locations(bad)


def test_dev_clock_moves_by_offset() -> None:
    clock = DevClock()
    start = clock()
    assert clock.advance(3600) >= start + 3600
    assert abs(clock.set(1_000.0) - 1_000.0) < 1
    assert abs(clock.reset() - start) < 5


async def test_locations_response_names_serving_location(
    client: tuple[httpx.AsyncClient, Locations],
) -> None:
    http, _ = client
    r = await http.get("/?key=k")
    assert r.headers["x-edgeworks-location"] == "sfo"  # the default: the first
    r = await http.get("/?key=k", headers=at("AMS"))
    assert r.headers["x-edgeworks-location"] == "ams"


async def test_locations_unknown_name_is_400_naming_allowed(
    client: tuple[httpx.AsyncClient, Locations],
) -> None:
    http, _ = client
    r = await http.get("/?key=k", headers=at("lhr"))
    assert r.status_code == 400
    assert "Unknown location 'lhr'" in r.text and "sfo, ams" in r.text


async def test_locations_other_location_stale_until_clock_passes_cache_ttl(
    client: tuple[httpx.AsyncClient, Locations],
) -> None:
    http, _ = client
    await http.put("/?key=k", content=b"old", headers=at("sfo"))
    assert (await http.get("/?key=k", headers=at("ams"))).text == "old"
    await http.put("/?key=k", content=b"new", headers=at("sfo"))
    r = await http.get("/?key=k", headers=at("sfo"))
    assert (r.text, r.headers["x-cache"]) == ("new", "HIT")  # read-your-writes
    r = await http.get("/?key=k", headers=at("ams"))
    assert (r.text, r.headers["x-cache"]) == ("old", "HIT")  # stale elsewhere
    r = await http.post("/__edgeworks/clock?advance=61")
    assert r.status_code == 200 and r.json()["offset"] == 61
    r = await http.get("/?key=k", headers=at("ams"))
    assert (r.text, r.headers["x-cache"]) == ("new", "MISS")


async def test_locations_clock_control_expires_keys(
    client: tuple[httpx.AsyncClient, Locations],
) -> None:
    http, _ = client
    await http.put("/?key=t&ttl=120", content=b"v")
    assert (await http.get("/?key=t")).text == "v"
    await http.post("/__edgeworks/clock?advance=121")
    assert (await http.get("/?key=t")).text == "None"
    assert (await http.post("/__edgeworks/clock?advance=x")).status_code == 400
    assert (await http.post("/__edgeworks/clock")).status_code == 400
    assert (await http.post("/__edgeworks/clock?reset=1")).json()["offset"] == 0


async def test_locations_endpoint_lists_and_clears_caches(
    client: tuple[httpx.AsyncClient, Locations],
) -> None:
    http, locations = client
    await http.get("/?key=a", headers=at("ams"))
    described = (await http.get("/__edgeworks/locations")).json()
    assert described["default"] == "sfo"
    assert [(x["name"], x["cached_keys"]) for x in described["locations"]] == [
        ("sfo", 0),
        ("ams", 1),
    ]
    assert (await http.post("/__edgeworks/locations?clear=ams")).status_code == 200
    assert len(locations.caches["ams"]) == 0
    assert (await http.post("/__edgeworks/locations?clear=nope")).status_code == 400


async def test_locations_routes_exist_only_in_dev_mode(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    locations = Locations.from_option("1")
    host = locations.host()
    host.swap(load_worker(tmp_path / "worker.py"), build_env())
    app = create_app(host, mode="serve", extra_routes=locations.routes(), access_log=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s"
    ) as http:
        r = await http.post("/__edgeworks/clock?advance=60")
    assert r.status_code == 404


def test_dev_locations_cli_serves_each_location_with_its_cache(tmp_path: Path) -> None:
    from tests.support import edgeworks

    (tmp_path / "worker.py").write_text(WORKER)
    (tmp_path / "edgeworks.toml").write_text(
        'name = "loc"\nmain = "worker.py"\n\n[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n'
    )
    proc = edgeworks(
        "dev",
        "--locations",
        "sfo,ams",
        "--port",
        "0",
        "--ephemeral",
        "--no-live-reload",
        cwd=tmp_path,
    )
    try:
        url = proc.wait_for(r"Listening on (http://\S+)", timeout=20).group(1)
        assert "locations sfo, ams" in proc.output
        with httpx.Client(base_url=url, timeout=10) as http:
            http.put("/?key=k", content=b"old", headers=at("sfo"))
            assert http.get("/?key=k", headers=at("ams")).text == "old"
            http.put("/?key=k", content=b"new", headers=at("sfo"))
            r = http.get("/?key=k", headers=at("ams"))
            assert (r.text, r.headers["x-edgeworks-location"]) == ("old", "ams")
            assert http.post("/__edgeworks/clock?advance=60").status_code == 200
            assert http.get("/?key=k", headers=at("ams")).text == "new"
    finally:
        proc.stop()


def test_dev_locations_cli_rejects_bad_value(tmp_path: Path) -> None:
    import cli

    assert cli.main(["dev", "--locations", "0", "--ephemeral", "--port", "0"]) == 2
