"""1 KiB KV read: the value is written once, then every read is an edge-cache hit."""

from starlette.responses import Response

VALUE = "x" * 1024


async def handle_request(request, env, ctx):
    value = await env.DATA.get("blob")
    if value is None:
        await env.DATA.put("blob", VALUE)
        value = VALUE
    return Response(value, media_type="text/plain")
