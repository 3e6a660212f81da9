"""/__edgeworks/metrics: counts of real traffic against `serve --workers 2 --metrics`,
scraped and read with prometheus_client's own text parser."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from runtime.app import create_app
from runtime.env import Env
from runtime.host import WorkerHost
from runtime.metrics import Metrics
from tests.support import edgeworks, wait_until

WORKER = """
from starlette.responses import PlainTextResponse

async def handle_request(request, env, ctx):
    path = request.url.path
    if path == "/missing":
        return PlainTextResponse("no", status_code=404)
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/kv":
        await env.KV.put("k", "v")
        return PlainTextResponse(await env.KV.get("k"))
    if path == "/spin":
        while True:
            pass
    if path == "/fetch":
        health = await ctx.fetch(f"{request.base_url}__edgeworks/health")
        return PlainTextResponse(health.text)
    if path.startswith("/send/"):
        await env.JOBS.send(path.removeprefix("/send/"))
        return PlainTextResponse("sent")
    return PlainTextResponse("hello")

async def queue(batch, env, ctx):
    for message in batch.messages:
        if message.body == "fail":
            message.retry()
        else:
            message.ack()
"""
QUEUES = """
[[queues.producers]]
binding = "JOBS"
queue = "jobs"

[[queues.consumers]]
queue = "jobs"
max_batch_timeout = 0
max_retries = 0
dead_letter_queue = "jobs-dead"
"""
# path -> (requests sent, status)
TRAFFIC = {"/": (7, 200), "/missing": (3, 404), "/boom": (2, 500), "/kv": (4, 200)}
TRAFFIC |= {"/spin": (1, 503), "/fetch": (2, 200)}
TRAFFIC |= {"/send/ok": (3, 200), "/send/fail": (1, 200)}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_real_traffic_across_two_processes(tmp_path: Path) -> None:
    (tmp_path / "edgeworks.toml").write_text(
        # cpu_ms stays the default 1000: a first fetch() builds httpx's client and TLS
        # context inside its request's budget.
        'name = "m"\nmain = "worker.py"\n[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n' + QUEUES
    )
    (tmp_path / "worker.py").write_text(WORKER)
    # One store both processes share (memory would be one per process): the queue
    # gauges are read from the store by whichever process answers the scrape.
    store = f"sqlite:///{tmp_path}/state.sqlite3"
    proc = edgeworks(
        "serve", "--port", "0", "--workers", "2", "--kv", store, "--metrics",
        "--no-access-log", cwd=tmp_path,
    )  # fmt: skip
    try:
        port = proc.wait_for(r"Listening on http://127\.0\.0\.1:(\d+)").group(1)
        base = f"http://127.0.0.1:{port}"
        assert wait_until(lambda: _health(base), timeout=30)
        for path, (count, status) in TRAFFIC.items():
            for _ in range(count):  # a new connection each: both processes get some
                assert httpx.get(base + path, timeout=10).status_code == status

        def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            response = httpx.get(base + "/__edgeworks/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain; version=")
            return _samples(response.text)

        requests = sum(count for count, _ in TRAFFIC.values())
        acked = ("edgeworks_queue_deliveries_total", (("outcome", "acked"), ("queue", "jobs")))
        dead = (
            "edgeworks_queue_deliveries_total",
            (("outcome", "dead_lettered"), ("queue", "jobs")),
        )
        # Each process writes its totals every second: wait until both have (and the
        # consumers, in either process, have settled the four messages).
        assert wait_until(
            lambda: (
                (s := scrape()).get(("edgeworks_request_duration_seconds_count", ())) == requests
                and s.get(acked) == 3
                and s.get(dead) == 1
            ),
            timeout=15,
        )
        samples = scrape()
        in_dlq = ("edgeworks_queue_ready_messages", (("queue", "jobs-dead"),))
        assert samples[in_dlq] == 1  # nothing consumes the dead letter queue
        dead_lettered = ("edgeworks_queue_dead_lettered_messages", (("queue", "jobs"),))
        assert samples[dead_lettered] == 1
        assert samples[("edgeworks_queue_ready_messages", (("queue", "jobs"),))] == 0
        assert samples[("edgeworks_requests_total", (("code", "2xx"),))] == 17
        assert samples[("edgeworks_requests_total", (("code", "4xx"),))] == 3
        assert samples[("edgeworks_requests_total", (("code", "5xx"),))] == 3
        assert samples[("edgeworks_limit_exceeded_total", (("limit", "cpu"),))] == 1
        assert samples[("edgeworks_subrequests_total", ())] == 2
        assert samples[("edgeworks_kv_operations_total", (("operation", "put"),))] == 4
        assert samples[("edgeworks_kv_operations_total", (("operation", "get"),))] == 4
        assert samples[("edgeworks_kv_cache_lookups_total", (("result", "hit"),))] == 4
        puts = ("edgeworks_kv_store_duration_seconds_count", (("operation", "put"),))
        assert samples[puts] == 4
        inf = ("edgeworks_request_duration_seconds_bucket", (("le", "+Inf"),))
        assert samples[inf] == requests
    finally:
        assert proc.stop(timeout=30) == 0


async def test_metrics_off_unless_asked() -> None:
    host = WorkerHost(env=Env())
    for metrics, status in ((None, 404), (Metrics(), 200)):
        app = create_app(host, metrics=metrics, access_log=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/__edgeworks/metrics")).status_code == status


def _health(base: str) -> bool:
    try:
        return httpx.get(base + "/__edgeworks/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
