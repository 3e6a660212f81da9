from pathlib import Path

from runtime.testing import WorkerClient

PROJECT = Path(__file__).resolve().parent.parent


async def test_thumbnail_job_is_done_by_the_consumer():
    async with WorkerClient(config=PROJECT / "edgeworks.toml") as client:
        r = await client.post("/jobs", json={"kind": "thumbnail", "image": "cat.png"})
        assert r.status_code == 202
        job = r.json()["id"]
        assert (await client.get(f"/jobs/{job}")).json() == {"status": "queued"}
        await client.deliver_queues()
        assert (await client.get(f"/jobs/{job}")).json() == {
            "status": "done",
            "result": "thumbnails/cat.png",
            "attempts": 1,
        }


async def test_failing_job_is_retried_then_dead_lettered():
    async with WorkerClient(config=PROJECT / "edgeworks.toml") as client:
        r = await client.post("/jobs", json={"kind": "email", "to": "nobody"})
        job = r.json()["id"]
        await client.deliver_queues()  # attempt 1 fails
        client.clock.advance(5)  # retry_delay, on the test's clock
        await client.deliver_queues()  # attempt 2 fails
        assert (await client.get(f"/jobs/{job}")).json() == {"status": "queued"}
        client.clock.advance(5)
        # attempt 3 fails: the job moves to jobs-dlq, whose consumer runs next
        results = await client.deliver_queues()
        assert [r.queue for r in results] == ["jobs", "jobs-dlq"]
        assert (await client.get(f"/jobs/{job}")).json() == {"status": "dead", "attempts": 1}
        assert (await client.queues["jobs"].counts()).backlog == 0


async def test_unknown_kind_is_refused():
    async with WorkerClient(config=PROJECT / "edgeworks.toml") as client:
        r = await client.post("/jobs", json={"kind": "fax"})
        assert r.status_code == 400
        assert (await client.queues["jobs"].counts()).backlog == 0
