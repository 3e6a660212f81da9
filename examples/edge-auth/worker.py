"""The edge-auth worker that ships with edgeworks (workers/edge_auth.py), used as is.

Settings come from [vars] and the TOKENS namespace in edgeworks.toml; see docs/workers.md.
To customise it, copy workers/edge_auth.py here instead of importing it.
"""

from workers.edge_auth import handle_request

__all__ = ["handle_request"]
