"""The official ``cloudflare`` SDK against a real ``edgeworks dev`` process on a
loopback port (``base_url`` points there; nothing leaves the machine), results
cross-checked through the KV CLI on the same store file."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cloudflare
import pytest

from tests.support import EDGEWORKS, REPO_ROOT, edgeworks

ACCOUNT = "0123456789abcdef"


@dataclass
class Served:
    url: str  # http://127.0.0.1:PORT
    store_url: str
    folder: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``edgeworks dev`` of a project with binding COUNTER, its KV in a SQLite file."""
    folder = tmp_path_factory.mktemp("sdk")
    (folder / "edgeworks.toml").write_text(
        'name = "sdk"\nmain = "worker.py"\n[[kv_namespaces]]\nbinding = "COUNTER"\nid = "counter"\n'
    )
    (folder / "worker.py").write_text(
        "from starlette.responses import Response\n"
        "async def handle_request(request, env):\n"
        "    return Response('worker')\n"
    )
    store_url = f"sqlite:///{folder / 'kv.sqlite3'}"
    proc = edgeworks("dev", "--port", "0", "--kv", store_url, cwd=folder)
    try:
        base = proc.wait_for(r"CLOUDFLARE_API_BASE_URL=(http://127\.0\.0\.1:\d+)/").group(1)
        yield Served(base, store_url, folder)
    finally:
        assert proc.stop() == 0, proc.output


@pytest.fixture(scope="module")
def cf(served: Served) -> Iterator[cloudflare.Cloudflare]:
    client = cloudflare.Cloudflare(
        api_token="any-token", base_url=f"{served.url}/__edgeworks/api/client/v4", max_retries=0
    )
    yield client
    client.close()


def error_codes(err: cloudflare.APIStatusError) -> list[int]:
    body = err.body
    assert isinstance(body, dict)
    return [e["code"] for e in body["errors"]]


def kv_cli(served: Served, *args: str) -> bytes:
    """``edgeworks kv ARGS --kv STORE`` from this checkout; its stdout."""
    done = subprocess.run(
        [*EDGEWORKS, "kv", *args, "--kv", served.store_url],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def test_sdk_namespaces_list_and_create(cf: cloudflare.Cloudflare, served: Served) -> None:
    created = cf.kv.namespaces.create(account_id=ACCOUNT, title="sdk-made")
    assert created.id == "sdk-made" and created.title == "sdk-made"
    titles = {ns.title for ns in cf.kv.namespaces.list(account_id=ACCOUNT)}  # pages to the end
    assert {"COUNTER", "sdk-made"} <= titles
    with pytest.raises(cloudflare.BadRequestError) as caught:
        cf.kv.namespaces.create(account_id=ACCOUNT, title="sdk-made")
    assert caught.value.status_code == 400 and error_codes(caught.value) == [10014]
    listed = json.loads(kv_cli(served, "namespace", "list"))
    assert "sdk-made" in {ns["id"] for ns in listed}


def test_sdk_values_bytes_exact_with_metadata_and_expiration(
    cf: cloudflare.Cloudflare, served: Served, tmp_path: Path
) -> None:
    value = bytes(range(256)) + "naïve ✓".encode()
    key = "dir/a b?%+"
    cf.kv.namespaces.values.update(
        key,
        account_id=ACCOUNT,
        namespace_id="counter",
        value=value,
        metadata={"owner": "sdk"},
        expiration_ttl=3600,
    )
    got = cf.kv.namespaces.values.get(key, account_id=ACCOUNT, namespace_id="counter")
    assert got.read() == value
    assert int(got.headers["expiration"]) > 0
    meta = cf.kv.namespaces.metadata.get(key, account_id=ACCOUNT, namespace_id="counter")
    assert meta == {"owner": "sdk"}
    assert kv_cli(served, "key", "get", "--namespace-id", "counter", key) == value
    cf.kv.namespaces.values.delete(key, account_id=ACCOUNT, namespace_id="counter")
    with pytest.raises(cloudflare.NotFoundError) as caught:
        cf.kv.namespaces.values.get(key, account_id=ACCOUNT, namespace_id="counter")
    assert error_codes(caught.value) == [10009]


def test_sdk_over_long_key_is_bad_request(cf: cloudflare.Cloudflare) -> None:
    with pytest.raises(cloudflare.BadRequestError) as caught:
        cf.kv.namespaces.values.update(
            "k" * 513, account_id=ACCOUNT, namespace_id="counter", value=b"v"
        )
    assert error_codes(caught.value) == [10001]
    assert "exceeds key length limit of 512" in str(caught.value)


def test_sdk_bulk_and_keys_pagination_over_2500_keys(
    cf: cloudflare.Cloudflare, served: Served
) -> None:
    ns = cf.kv.namespaces.create(account_id=ACCOUNT, title="many").id
    assert ns is not None
    body = [{"key": f"key:{i:05}", "value": f"v{i}"} for i in range(2500)]
    done = cf.kv.namespaces.bulk_update(ns, account_id=ACCOUNT, body=body)
    assert done is not None and done.successful_key_count == 2500
    names = [k.name for k in cf.kv.namespaces.keys.list(ns, account_id=ACCOUNT, limit=1000)]
    assert names == [f"key:{i:05}" for i in range(2500)]
    got = cf.kv.namespaces.bulk_get(ns, account_id=ACCOUNT, keys=["key:00007", "nope"])
    assert got is not None
    assert got.to_dict()["values"] == {"key:00007": "v7", "nope": None}
    cf.kv.namespaces.bulk_delete(ns, account_id=ACCOUNT, body=[f"key:{i:05}" for i in range(2000)])
    listed = json.loads(kv_cli(served, "key", "list", "--namespace-id", ns))
    assert [k["name"] for k in listed] == [f"key:{i:05}" for i in range(2000, 2500)]
