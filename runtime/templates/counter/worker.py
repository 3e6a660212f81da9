"""A hit counter in Workers KV: each request adds one to the "hits" key."""

from starlette.responses import PlainTextResponse


async def handle_request(request, env, ctx):
    n = int(await env.COUNTER.get("hits") or 0) + 1
    await env.COUNTER.put("hits", str(n))
    return PlainTextResponse(f"hit {n}\n")
