"""The built-in static-site worker: serves the site deployed into ``__STATIC_CONTENT``.

The runtime loads this file by path (like any user worker) when ``edgeworks.toml``
has a ``[site]`` and no ``main``. All behaviour lives in ``sites.AssetHandler``
(docs/sites.md, "Serving"); serving options come from the deployed manifest.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sites import AssetHandler

BINDING = "__STATIC_CONTENT"

# One handler (manifest, route table, hot assets) per namespace object, kept across
# requests. The namespace is held too, so a recycled id() can never match.
_handlers: dict[int, tuple[Any, AssetHandler]] = {}


async def handle_request(request: Request, env: Any) -> Response:
    """Serve ``request`` from the site's assets."""
    namespace = getattr(env, BINDING)
    held = _handlers.get(id(namespace))
    if held is None or held[0] is not namespace:
        held = (namespace, AssetHandler(namespace))
        _handlers[id(namespace)] = held
    return await held[1](request)
