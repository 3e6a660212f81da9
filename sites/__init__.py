"""edgeworks static sites: deploy a folder into KV, serve it with ``AssetHandler``.

>>> from sites import AssetHandler, deploy
>>> result = await deploy("public", namespace)        # namespace: the site's __STATIC_CONTENT
>>> print(result.summary())
3 uploaded, 0 unchanged, 0 deleted, version 1
>>> assets = AssetHandler(namespace)
>>> response = await assets(request)                   # a starlette Request -> Response

Errors are ``SiteError`` (``DeployError`` when a deploy is refused); limits and
defaults are in ``sites.limits``; spec/sites.md is the behaviour.
"""

from __future__ import annotations

from sites._upload import ProgressCallback
from sites._walk import HashCache
from sites.deploy import DeployResult, FileChange, deploy
from sites.errors import DeployError, SiteError
from sites.handler import AssetHandler
from sites.manifest import Manifest, ManifestEntry, current_manifest, deploy_generation

__all__ = [
    "AssetHandler",
    "DeployError",
    "DeployResult",
    "FileChange",
    "HashCache",
    "Manifest",
    "ManifestEntry",
    "ProgressCallback",
    "SiteError",
    "current_manifest",
    "deploy",
    "deploy_generation",
]
