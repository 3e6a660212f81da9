"""edgeworks static sites: deploy a folder into KV, serve it with ``AssetHandler``.

>>> from sites import AssetHandler, deploy
>>> result = await deploy("public", namespace)        # namespace: the site's __STATIC_CONTENT
>>> print(result.summary())
3 uploaded, 0 unchanged, 0 deleted, version 1
>>> assets = AssetHandler(namespace)
>>> response = await assets(request)                   # a starlette Request -> Response

Errors are ``SiteError`` (``DeployError`` when a deploy is refused); limits and
defaults are in ``sites.limits``; docs/sites.md is the behaviour.

``AssetHandler`` (and with it starlette) and ``deploy`` (the walk, manifests and
rules) are imported on first use, so the config can read the ``[site]`` defaults
from ``sites.limits`` cheaply.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from sites.errors import DeployError, SiteError

if TYPE_CHECKING:
    from sites.deploy import DeployResult, FileChange, ProgressCallback, deploy
    from sites.handler import AssetHandler
    from sites.manifest import Manifest, ManifestEntry, current_manifest

__all__ = [
    "AssetHandler",
    "DeployError",
    "DeployResult",
    "FileChange",
    "Manifest",
    "ManifestEntry",
    "ProgressCallback",
    "SiteError",
    "current_manifest",
    "deploy",
]

_WHERE = {
    "DeployResult": "sites.deploy",
    "FileChange": "sites.deploy",
    "ProgressCallback": "sites.deploy",
    "deploy": "sites.deploy",
    "AssetHandler": "sites.handler",
    "Manifest": "sites.manifest",
    "ManifestEntry": "sites.manifest",
    "current_manifest": "sites.manifest",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sites' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """The import system binds a loaded submodule to the package attribute of its name;
    ``sites.deploy`` (the module) must not replace ``sites.deploy`` (the function), so
    that the deploy machinery loads lazily (``edgeworks serve`` without a site never
    imports it: the config only reads ``sites.limits``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "deploy" and isinstance(value, types.ModuleType):
            value = value.deploy
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
