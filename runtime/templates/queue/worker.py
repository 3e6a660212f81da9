"""Background jobs on a queue: POST /jobs enqueues a thumbnail or an email job and
answers at once; the consumer does the work and records the result in KV.

    curl -X POST localhost:8787/jobs -d '{"kind": "thumbnail", "image": "cat.png"}'
    curl localhost:8787/jobs/<id>

An email job to an address without "@" fails every time: after its retries it
lands in the dead letter queue "jobs-dlq", whose consumer marks it dead.
"""

import json
import uuid

from starlette.responses import JSONResponse


async def handle_request(request, env, ctx):
    if request.method == "POST" and request.url.path == "/jobs":
        job = await request.json()
        if job.get("kind") not in ("thumbnail", "email"):
            return JSONResponse({"error": 'kind must be "thumbnail" or "email"'}, 400)
        job["id"] = uuid.uuid4().hex
        await env.RESULTS.put(job["id"], json.dumps({"status": "queued"}))
        await env.JOBS.send(job)
        return JSONResponse({"id": job["id"]}, 202)
    if request.url.path.startswith("/jobs/"):
        status = await env.RESULTS.get(request.url.path.removeprefix("/jobs/"), "json")
        if status is None:
            return JSONResponse({"error": "no such job"}, 404)
        return JSONResponse(status)
    return JSONResponse({"error": "POST /jobs or GET /jobs/<id>"}, 404)


def work(job):
    """The job itself (stand-ins for resizing an image and sending an email)."""
    if job["kind"] == "thumbnail":
        return f"thumbnails/{job['image']}"
    if "@" not in job["to"]:
        raise ValueError(f"cannot send email to {job['to']!r}")
    return f"sent to {job['to']}"


async def queue(batch, env, ctx):
    for message in batch.messages:
        job = message.body
        if batch.queue == "jobs-dlq":
            status = {"status": "dead", "attempts": message.attempts}
        else:
            try:
                status = {"status": "done", "result": work(job), "attempts": message.attempts}
            except ValueError as exc:
                print(f"job {job['id']} failed (attempt {message.attempts}): {exc}")
                message.retry()  # only this job; the others of the batch are acked
                continue
        await env.RESULTS.put(job["id"], json.dumps(status))
