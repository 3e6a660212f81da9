"""The project `edgeworks dev` serves: options, config, store, watch plan, site deploy, banner.

Plain functions over :class:`DevOptions` and the validated ``Config``; the
dev server (``runtime.dev.server``) calls them at startup and on every config or
bucket change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.consumers import banner_lines
from runtime.dev.plan import WatchPlan
from runtime.limits import DEV_DEFAULT_HOST, DEV_DEFAULT_PORT, KV_SQLITE_FILENAME

if TYPE_CHECKING:
    from kv.backends.base import Store
    from runtime.config import Config
    from runtime.loader import LoadedWorker

MEMORY_STORE_URL = "memory://"
BANNER_INDENT = "\n            "


@dataclass(frozen=True)
class DevOptions:
    """What ``edgeworks dev`` was asked for (CLI flags)."""

    worker: Path | None = None  # a worker file given on the command line (overrides ``main``)
    config: Path | None = None  # --config
    host: str = DEV_DEFAULT_HOST
    port: int = DEV_DEFAULT_PORT  # 0: a free port
    overrides: Mapping[str, Any] = field(default_factory=dict)  # dotted config field -> value
    persist_to: Path | None = None  # --persist-to DIR: SQLite store in DIR
    ephemeral: bool = False  # --ephemeral: memory store
    live_reload: bool | None = None  # None: on when the project has a [site]
    force_polling: bool | None = None  # None: watchfiles decides (WATCHFILES_FORCE_POLLING)
    locations: str | None = None  # --locations N|a,b,c (runtime/dev/locations.py)
    cwd: Path | None = None

    def folder(self) -> Path:
        """The folder relative paths in the options start from."""
        return (self.cwd or Path.cwd()).absolute()


def load_dev_config(options: DevOptions) -> Config:
    """edgeworks.toml plus ``.dev.vars`` secrets; raises ``ConfigError``.

    With a worker file given, the config is looked up from the worker's folder
    and ``main`` is that file; with no config found it runs bare (no bindings).
    """
    from runtime.config import load_config, load_dev_vars

    overrides: dict[str, Any] = dict(options.overrides)
    cwd = options.folder()
    if options.worker is not None:
        worker = (cwd / options.worker).resolve()
        overrides["main"] = str(worker)
        cwd = worker.parent
    config = load_config(options.config, cwd=cwd, overrides=overrides)
    return config.with_secrets(load_dev_vars(config), source=str(config.dev_vars_path))


def store_url(options: DevOptions, config: Config) -> str:
    """The store dev uses: --ephemeral, --persist-to DIR, else the config's (with ``--kv``)."""
    if options.ephemeral:
        return MEMORY_STORE_URL
    if options.persist_to is not None:
        folder = (options.folder() / options.persist_to).resolve()
        return "sqlite:///" + str(folder / KV_SQLITE_FILENAME).lstrip("/")
    return config.kv.store_url


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///abs/path[?query]`` URL (``None`` for other stores)."""
    if not url.startswith("sqlite:///"):
        return None
    return Path("/" + url.removeprefix("sqlite:///").partition("?")[0].lstrip("/"))


async def open_dev_store(url: str) -> Store:
    """Open and check the store (creating the SQLite folder)."""
    from kv.backends import open_store

    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(url)
    await store.check()
    return store


def watch_plan(config: Config) -> WatchPlan:
    """What to watch for ``config``: its folder, the file itself, .dev.vars, the bucket."""
    return WatchPlan(
        root=config.root,
        config_file=config.path,
        dev_vars=config.dev_vars_path,
        bucket=config.site.bucket if config.site is not None else None,
    )


async def deploy_bucket(
    config: Config, store: Store, changed: set[Path] | None, hash_cache: Any
) -> str | None:
    """Deploy the ``[site]`` bucket into its local ``__STATIC_CONTENT`` namespace.

    The same ``sites.deploy`` as ``edgeworks sites deploy``: unchanged files
    cost a stat (``hash_cache``), ``changed`` files are re-read. Returns the
    one-line summary (``None`` without a site).
    """
    if config.site is None:
        return None
    from kv import KVNamespace
    from sites import deploy

    site = config.site
    result = await deploy(
        site.bucket,
        KVNamespace(store, config.site_namespace_id),
        **site.deploy_options(),
        only=changed,
        hash_cache=hash_cache,
    )
    return str(result.summary())


def render_banner(
    config: Config,
    *,
    worker: LoadedWorker | None,
    url_store: str,
    plan: WatchPlan,
    url: str,
    extra: Sequence[str] = (),
) -> str:
    """The startup banner: worker, bindings (name, kind, namespace id), state, watched paths."""
    lines = [f"edgeworks dev · {config.name}"]
    lines.append(f"  worker    {worker.path if worker else '(not loaded: see the error above)'}")
    bindings = [f"{ns.binding}  KV namespace  {ns.id}" for ns in config.kv_namespaces]
    if config.site is not None:
        bindings.append(
            f"__STATIC_CONTENT  KV namespace  {config.site_namespace_id}  "
            f"(site bucket {config.site.bucket})"
        )
    bindings += [f"{name}  var  {value!r}" for name, value in config.vars.items()]
    bindings += [f"{name}  secret  (from .dev.vars)" for name in config.secrets]
    bindings += banner_lines(config)
    lines.append("  bindings  " + (BANNER_INDENT.join(bindings) if bindings else "(none)"))
    path = sqlite_path(url_store)
    state = str(path) if path is not None else url_store
    if url_store == MEMORY_STORE_URL:
        state = "in memory (--ephemeral): nothing is kept after exit"
    lines.append(f"  state     {state}")
    lines.append("  watching  " + BANNER_INDENT.join(plan.describe()))
    lines += extra
    lines.append(f"Listening on {url}")
    return "\n".join(lines)
