"""``edgeworks dev``: the hot-reloading development server (see docs/dev.md).

One module per part: ``server`` (the ``DevServer``: startup, the reload loop,
shutdown), ``project`` (options, config, store, banner), ``watch`` (what to
watch and the watcher thread), ``reload`` (fresh imports of the worker),
``generations`` (ending requests on replaced code), ``pages`` (live reload),
``routes`` (the ``/__edgeworks/`` endpoints) and ``locations`` (simulated
locations).

>>> from runtime.dev import DevOptions, run_dev
>>> exit_code = run_dev(DevOptions(port=0))
"""

from __future__ import annotations

from runtime.dev.project import DevOptions
from runtime.dev.server import DevServer, run_dev

__all__ = ["DevOptions", "DevServer", "run_dev"]
