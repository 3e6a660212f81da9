"""The blue-green router that ships with edgeworks (workers/blue_green.py), used as is.

Settings come from [vars] and the DEPLOY namespace in edgeworks.toml; see docs/workers.md.
To customise it, copy workers/blue_green.py here instead of importing it.
"""

from workers.blue_green import handle_request

__all__ = ["handle_request"]
