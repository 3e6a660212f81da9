"""The smallest edgeworks worker: every request gets a greeting."""

from starlette.responses import PlainTextResponse


async def handle_request(request, env, ctx):
    return PlainTextResponse(f"{env.GREETING}, world!\n")
