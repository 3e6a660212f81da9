"""``edgeworks.toml``: the frozen configuration models and ``load_config``.

``load_config`` finds the file (``--config PATH``, ``EDGEWORKS_CONFIG``, or
``edgeworks.toml`` in the current folder or a parent), layers it between the
defaults and the ``EDGEWORKS_*`` environment variables and CLI overrides, and
validates the result. It only reads and validates: stores and folders are
opened later, once. Every problem is a one-line ``ConfigError`` naming the
file (or variable), the field, the bad value and what is allowed.

>>> config = load_config()                                  # discovery from the cwd
>>> config = load_config("app/edgeworks.toml", overrides={"kv.store": "memory"})
>>> config.kv.store_url, config.kv_namespace_id("COUNTER")
('memory://', 'counter')

Paths in the file are relative to the file's folder; paths from environment
variables and overrides are relative to the current folder.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from kv.limits import DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_TTL, MIN_CACHE_TTL
from runtime import limits
from runtime._config_errors import SourceMap, format_validation_error
from runtime._config_load import (
    CONFIG_FILENAME,
    ENV_PREFIX,
    NAME_RULE,
    env_layer,
    find_config_file,
    merge_layers,
    override_layer,
    parse_env_file,
    read_toml,
    resolve_store_url,
)
from runtime._config_queues import QueuesConfig
from runtime.errors import ConfigError
from runtime.wrangler import CloudflareConfig, is_wrangler_file, read_wrangler, wrangler_names
from sites.limits import (
    DEFAULT_CACHE_CONTROL,
    DEFAULT_HTML_HANDLING,
    DEFAULT_KEEP,
    DEFAULT_NOT_FOUND_HANDLING,
    HtmlHandling,
    NotFoundHandling,
)

__all__ = [
    "CONFIG_FILENAME",
    "DEV_VARS_FILENAME",
    "DOTENV_FILENAME",
    "ENV_PREFIX",
    "STATE_DIR",
    "STATIC_CONTENT_BINDING",
    "Config",
    "KVConfig",
    "KVNamespaceConfig",
    "LimitsConfig",
    "SiteConfig",
    "TriggersConfig",
    "load_config",
    "load_dev_vars",
]

DEV_VARS_FILENAME = ".dev.vars"  # dotenv file of development secrets, next to the config
DOTENV_FILENAME = ".env"  # read instead when there is no .dev.vars (wrangler's rule)
STATE_DIR = Path(limits.STATE_DIR)  # local state (the default SQLite store), under the root
NO_CONFIG = f"{CONFIG_FILENAME} (or wrangler.jsonc/.json/.toml)"  # what discovery looks for
STATIC_CONTENT_BINDING = "__STATIC_CONTENT"  # binding of the site namespace when [site] is set

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_IDENTIFIER_RULE = (
    "use a Python identifier (letters, digits and _, not starting with a digit, not a keyword)"
)


# --- field validators -------------------------------------------------------------


def _identifier(value: str) -> str:
    if not value.isidentifier() or keyword.iskeyword(value):
        raise ValueError(f"is not a valid binding name: {_IDENTIFIER_RULE}")
    return value


def _name(value: str) -> str:
    if not _NAME_RE.fullmatch(value):
        raise ValueError(f"is not a valid name: {NAME_RULE}")
    return value


def _no_control_chars(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters (newlines, tabs, NUL)")
    return value


def _cron(value: str) -> str:
    from croniter import croniter  # lazy: croniter is only needed when crons are set

    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError(
            "is not a valid cron expression: use 5 fields 'minute hour day-of-month month "
            "day-of-week', e.g. '*/5 * * * *'"
        )
    return value


def _json_like(value: Any, where: str = "") -> None:
    if isinstance(value, datetime | date | time):
        raise ValueError(
            f"{where}must be a string, number, boolean, array or table (TOML dates and times "
            "are not allowed; quote them)"
        )
    if isinstance(value, list):
        for item in value:
            _json_like(item, where)
    elif isinstance(value, dict):
        for item in value.values():
            _json_like(item, where)


BindingName = Annotated[StrictStr, AfterValidator(_identifier)]
Text = Annotated[StrictStr, Field(min_length=1), AfterValidator(_no_control_chars)]
CronExpr = Annotated[StrictStr, AfterValidator(_cron)]


class _Model(BaseModel):
    """Frozen, rejects unknown keys; ``_internal`` fields are computed, never read from files."""

    # defer_build: a section's own validator is built only if it is validated on its own;
    # loading a config builds Config's one validator (the sections inline), not six.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    _internal: ClassVar[frozenset[str]] = frozenset()


# --- sections ---------------------------------------------------------------------


class KVNamespaceConfig(_Model):
    """One ``[[kv_namespaces]]`` entry: ``env.<binding>`` reads and writes namespace ``id``."""

    binding: BindingName
    id: Annotated[Text, Field(max_length=512)]


class SiteConfig(_Model):
    """``[site]``: the folder deployed into the ``__STATIC_CONTENT`` namespace (docs/sites.md)."""

    bucket: Path
    include: tuple[StrictStr, ...] = ()
    exclude: tuple[StrictStr, ...] = ()
    html_handling: HtmlHandling = DEFAULT_HTML_HANDLING
    not_found_handling: NotFoundHandling = DEFAULT_NOT_FOUND_HANDLING
    keep: StrictInt = Field(default=DEFAULT_KEEP, ge=1)
    cache_control: Text = DEFAULT_CACHE_CONTROL

    def deploy_options(self) -> dict[str, Any]:
        """The keyword arguments of ``sites.deploy`` this section sets (everything but
        the bucket), so every caller deploys a site the same way."""
        return {
            "include": self.include,
            "exclude": self.exclude,
            "keep": self.keep,
            "html_handling": self.html_handling,
            "not_found_handling": self.not_found_handling,
            "cache_control": self.cache_control,
        }


class KVConfig(_Model):
    """``[kv]``: the store every command uses and the edge cache of each location.

    ``store`` is what was written (``"sqlite"``, ``"memory"``, a URL or a path);
    ``store_url`` is the resolved URL to pass to ``kv.open_store``.
    """

    _internal: ClassVar[frozenset[str]] = frozenset({"store_url"})

    store: StrictStr = "sqlite"
    store_url: StrictStr = ""
    invalidation: Literal["none", "pubsub"] = "none"
    cache_ttl: StrictInt = Field(default=DEFAULT_CACHE_TTL, ge=MIN_CACHE_TTL)
    cache_max_bytes: StrictInt = Field(default=DEFAULT_CACHE_MAX_BYTES, ge=0)
    #: Redis stores: calls in flight per process; more wait for a free connection.
    max_connections: StrictInt | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _max_connections_into_url(cls, data: Any) -> Any:
        """``max_connections`` rides in a Redis store URL (``?max_connections=``), so
        every command that opens the store gets it; other stores ignore it."""
        if not isinstance(data, dict):
            return data
        count, url = data.get("max_connections"), data.get("store_url")
        if type(count) is int and count >= 1 and isinstance(url, str):
            from kv.backends.redis_client import is_redis_url, with_max_connections

            if is_redis_url(url):
                return {**data, "store_url": with_max_connections(url, count)}
        return data


class TriggersConfig(_Model):
    """``[triggers]``: cron expressions that run the worker's ``scheduled``."""

    crons: tuple[CronExpr, ...] = ()


class LimitsConfig(_Model):
    """``[limits]`` (docs/runtime.md, "Limits"); defaults live in ``runtime.limits``."""

    cpu_ms: StrictInt = Field(default=limits.DEFAULT_CPU_MS, gt=0)
    wall_ms: StrictInt = Field(default=limits.DEFAULT_WALL_MS, gt=0)
    subrequests: StrictInt = Field(default=limits.DEFAULT_SUBREQUESTS, ge=0)
    max_body_bytes: StrictInt = Field(default=limits.DEFAULT_MAX_BODY_BYTES, gt=0)
    drain_ms: StrictInt = Field(default=limits.DEFAULT_DRAIN_MS, ge=0)
    max_header_bytes: StrictInt = Field(default=limits.DEFAULT_MAX_HEADER_BYTES, ge=1024)
    max_headers: StrictInt = Field(default=limits.DEFAULT_MAX_HEADERS, gt=0)
    header_timeout_ms: StrictInt = Field(default=limits.DEFAULT_HEADER_TIMEOUT_MS, gt=0)
    max_connections: StrictInt = Field(default=limits.DEFAULT_MAX_CONNECTIONS, gt=0)
    queue_wall_ms: StrictInt = Field(default=limits.DEFAULT_QUEUE_WALL_MS, gt=0)


# --- the whole file -----------------------------------------------------------------


class Config(_Model):
    """A validated ``edgeworks.toml`` with defaults, environment and overrides applied.

    ``path`` is the file (``None`` when none was found: defaults rooted at the
    cwd); ``root`` its folder. ``main`` and ``site.bucket`` are absolute.
    ``secrets`` is empty until ``with_secrets`` (see ``load_dev_vars``).
    """

    _internal: ClassVar[frozenset[str]] = frozenset({"path", "root", "secrets", "cloudflare"})

    path: Path | None = None
    root: Path
    name: Annotated[StrictStr, AfterValidator(_name)]
    main: Path | None = None
    origin: StrictStr | None = None
    vars: dict[StrictStr, Any] = Field(default_factory=dict)
    kv_namespaces: tuple[KVNamespaceConfig, ...] = ()
    site: SiteConfig | None = None
    kv: KVConfig = Field(default_factory=KVConfig)
    triggers: TriggersConfig = Field(default_factory=TriggersConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    queues: QueuesConfig = Field(default_factory=QueuesConfig)
    secrets: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    #: set when the file is a wrangler config (runtime.wrangler)
    cloudflare: CloudflareConfig | None = None

    @field_validator("origin")
    @classmethod
    def _check_origin(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("vars")
    @classmethod
    def _check_vars(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, item in value.items():
            if not name.isidentifier() or keyword.iskeyword(name):
                raise ValueError(f"{name!r} is not a valid binding name: {_IDENTIFIER_RULE}")
            _json_like(item, f"{name!r} ")
        return value

    @model_validator(mode="after")
    def _check_bindings(self) -> Config:
        seen: dict[str, str] = {}
        if self.site is not None:
            seen[STATIC_CONTENT_BINDING] = "[site] (reserved)"
        named = [(f"vars.{n}", n) for n in self.vars]
        named += [
            (f"kv_namespaces[{i}].binding", b.binding) for i, b in enumerate(self.kv_namespaces)
        ]
        if self.cloudflare is not None:
            if self.cloudflare.assets_binding is not None:
                named.append(("assets.binding", self.cloudflare.assets_binding))
            named += [(kind, n) for n, kind in self.cloudflare.unsupported.items()]
        # A secret overrides a var of the same name (wrangler's rule), never another binding.
        named += [(f"secrets.{n}", n) for n in self.secrets if n not in self.vars]
        named += [
            (f"queues.producers[{i}].binding", p.binding)
            for i, p in enumerate(self.queues.producers)
        ]
        for where, name in named:
            if name in seen:
                raise ValueError(
                    f"binding name {name!r} of {where} is already used by {seen[name]}: binding "
                    "names must be unique across vars, secrets, kv_namespaces and queues.producers"
                )
            seen[name] = where
        return self

    # --- derived values ---

    @property
    def found(self) -> bool:
        """Whether an edgeworks.toml was found (else this is the default config)."""
        return self.path is not None

    @property
    def state_dir(self) -> Path:
        """Folder of local state: ``<root>/.edgeworks/state``."""
        return self.root / STATE_DIR

    @property
    def dev_vars_path(self) -> Path:
        """The ``.dev.vars`` file next to the config, or ``.env`` when only that exists
        (wrangler's rule: never both). It need not exist."""
        dev_vars = self.root / DEV_VARS_FILENAME
        dotenv = self.root / DOTENV_FILENAME
        return dotenv if not dev_vars.is_file() and dotenv.is_file() else dev_vars

    @property
    def dev_vars_other_path(self) -> Path:
        """The secrets file not read now (``.env`` while ``.dev.vars`` is, and the
        reverse): dev watches it, since creating or deleting one switches them."""
        names = {DEV_VARS_FILENAME: DOTENV_FILENAME, DOTENV_FILENAME: DEV_VARS_FILENAME}
        return self.root / names[self.dev_vars_path.name]

    @property
    def is_cloudflare(self) -> bool:
        """Whether this is a Cloudflare Workers project (a wrangler config)."""
        return self.cloudflare is not None

    @property
    def site_namespace_id(self) -> str:
        """Namespace id of the site's assets, per app, as wrangler names it."""
        return f"__{self.name}-workers_sites_assets"

    @property
    def kv_bindings(self) -> dict[str, str]:
        """Binding name -> namespace id, including ``__STATIC_CONTENT`` when [site] is set."""
        bindings = {ns.binding: ns.id for ns in self.kv_namespaces}
        if self.site is not None:
            bindings[STATIC_CONTENT_BINDING] = self.site_namespace_id
        return bindings

    def kv_namespace_id(self, binding: str) -> str:
        """The namespace id of a KV binding; ``ConfigError`` lists the configured ones."""
        bindings = self.kv_bindings
        if binding in bindings:
            return bindings[binding]
        where = str(self.path) if self.path else f"no {NO_CONFIG} found from {self.root}"
        known = ", ".join(sorted(bindings)) or "none"
        raise ConfigError(
            f"{where}: no KV binding {binding!r} in kv_namespaces; configured bindings: {known}"
        )

    def worker_path(self) -> Path:
        """The worker module to run: ``main``, or the built-in static-site worker with [site]."""
        where = str(self.path) if self.path else f"no {NO_CONFIG} found from {self.root}"
        if self.main is not None:
            if not self.main.is_file():
                raise ConfigError(f"{where}: main = '{self.main}' does not exist: give a .py file")
            return self.main
        if self.site is not None:
            return _static_site_worker()
        raise ConfigError(
            f'{where}: no worker to run: set main = "worker.py" or a [site] bucket '
            "(or pass the worker file on the command line)"
        )

    def with_secrets(
        self,
        secrets: Mapping[str, str],
        *,
        source: str = "secrets",
        vars: Mapping[str, str] | None = None,
    ) -> Config:
        """A copy with ``secrets`` set, after checking their names like other bindings.

        Precedence, lowest first (wrangler's): ``[vars]``, ``secrets`` (``.dev.vars``,
        ``--env-file``), ``vars`` (``--var NAME:VALUE``). A secret or ``--var`` may
        replace a var, never a KV, queue or assets binding.
        """
        given = {**secrets, **(vars or {})}
        for name, value in given.items():
            if not isinstance(value, str):
                raise ConfigError(f"{source}: {name} must be a string, got {type(value).__name__}")
            if not name.isidentifier() or keyword.iskeyword(name):
                raise ConfigError(
                    f"{source}: {name!r} is not a valid binding name: {_IDENTIFIER_RULE}"
                )
        data = {k: getattr(self, k) for k in type(self).model_fields}
        cli_vars = dict(vars or {})
        data["secrets"] = {k: v for k, v in secrets.items() if k not in cli_vars}
        data["vars"] = {**self.vars, **cli_vars}
        if cli_vars:
            source = f"{source} / --var"
        try:
            return Config.model_validate(data)
        except Exception as exc:  # pydantic ValidationError: one line, names the clash
            raise ConfigError(format_validation_error(exc, SourceMap(source))) from None


def _static_site_worker() -> Path:
    """``workers/static_site.py`` shipped with edgeworks, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("workers")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - broken install
        raise ConfigError("the built-in static-site worker is missing: reinstall edgeworks")
    return Path(next(iter(spec.submodule_search_locations))) / "static_site.py"


# --- loading ----------------------------------------------------------------------


def load_config(
    path: str | Path | None = None,
    *,
    cwd: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    env_name: str | None = None,
) -> Config:
    """Find, layer and validate the configuration.

    Precedence, lowest first: defaults, the file, ``EDGEWORKS_*`` variables of
    ``environ`` (default ``os.environ``), ``overrides`` (CLI flags; keys are
    dotted field paths such as ``"kv.store"``; ``None`` values are skipped).
    The file is ``edgeworks.toml`` or a wrangler config (``runtime.wrangler``);
    ``env_name`` selects a wrangler ``env.<NAME>`` section (``--env``). A
    wrangler config's warnings are kept in ``config.cloudflare.warnings``; the
    servers log them once at start (``runtime.wrangler.log_warnings``).
    """
    import os

    here = Path(cwd) if cwd is not None else Path.cwd()
    here = here.absolute()
    env = os.environ if environ is None else environ
    file = find_config_file(path, here, env)
    root = file.parent if file is not None else here
    file_label = str(file) if file is not None else f"no {NO_CONFIG} found from {here}"

    state_dir = root / STATE_DIR
    layers = []
    cloudflare: CloudflareConfig | None = None
    if file is not None and is_wrangler_file(file):
        layer, cloudflare = read_wrangler(file, env_name=env_name, base=root, state_dir=state_dir)
        layers.append(layer)
    elif env_name is not None:
        raise ConfigError(
            f"--env {env_name}: environments need a wrangler config, not {file_label}"
        )
    elif file is not None:
        layers.append(read_toml(file, Config, base=root, state_dir=state_dir))
    layers.append(env_layer(env, Config, base=here, state_dir=state_dir))
    layers.append(override_layer(overrides or {}, Config, base=here, state_dir=state_dir))
    data, sources = merge_layers(layers, default_label=file_label)
    data.setdefault("name", _default_name(root))
    kv = data.setdefault("kv", {})
    if isinstance(kv, dict) and "store_url" not in kv:
        kv["store_url"] = resolve_store_url("sqlite", root, state_dir, file_label)
    data["path"] = file
    data["root"] = root
    data["cloudflare"] = cloudflare
    try:
        return Config.model_validate(data)
    except RecursionError:
        raise ConfigError(f"{file_label}: {limits.MSG_CONFIG_TOO_DEEP}") from None
    except Exception as exc:  # pydantic ValidationError -> one line per the contract
        message = format_validation_error(exc, sources)
        if cloudflare is not None:
            message = wrangler_names(message, cloudflare)
        raise ConfigError(message) from None


def _default_name(root: Path) -> str:
    """The folder name, made safe for the name rules."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.name).strip("-._")[:63]
    return name or "worker"


def load_dev_vars(config: Config, path: str | Path | None = None) -> dict[str, str]:
    """Secrets from a dotenv file: ``path`` (e.g. ``serve --env-file``, must exist) or
    the ``.dev.vars`` next to the config, else its ``.env`` (both optional; never
    both). Use with ``config.with_secrets``:

    >>> config = config.with_secrets(load_dev_vars(config))
    """
    if path is None:
        file = config.dev_vars_path
        if not file.is_file():
            return {}
    else:
        file = Path(path)
    return parse_env_file(file)
