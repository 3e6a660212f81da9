"""wrangler configs (``wrangler.jsonc``, ``wrangler.json``, ``wrangler.toml``) as edgeworks config.

A Cloudflare Workers project runs with no file changed: ``read_wrangler`` parses
the file (JSONC through ``json5``, TOML through ``tomllib``; a syntax error names
file, line and column), selects ``env.<NAME>`` with wrangler's inheritance
rules (vars and bindings are not inherited), maps the keys edgeworks provides
onto the fields of ``edgeworks.toml`` and keeps the rest as data:

- ``name``, ``main``, ``vars``, ``kv_namespaces`` (``binding``, ``id``; a
  missing id is the binding name, ``preview_id`` is ignored), ``triggers.crons``,
  ``queues.producers`` / ``queues.consumers`` (edgeworks' ``[queues]``),
  ``limits.cpu_ms``, ``assets`` (served by the built-in site handler; the
  ``ASSETS`` binding and ``run_worker_first``), the legacy ``site.bucket``;
- bindings edgeworks does not provide (D1, R2, Durable Objects, AI, ...) become
  ``CloudflareConfig.unsupported``: one warning each, and touching one in a
  worker raises an error naming its kind;
- keys that configure Cloudflare's platform only are accepted and ignored;
  unknown keys are one warning each (wrangler grows every month).

What maps to what is in docs/python-workers.md.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from runtime._config_errors import show
from runtime._config_load import CONFIG_FILENAMES, Layer, resolve_layer_paths, toml_message
from runtime.errors import ConfigError

__all__ = [
    "ASSETS_NOT_FOUND_DEFAULT",
    "PLATFORM_KEYS",
    "UNSUPPORTED_BINDINGS",
    "WRANGLER_FILENAMES",
    "CloudflareConfig",
    "is_wrangler_file",
    "log_warnings",
    "read_wrangler",
    "wrangler_names",
]

#: Looked for after edgeworks.toml, in this order, in each folder upwards.
WRANGLER_FILENAMES = CONFIG_FILENAMES[1:]

#: Keys that configure Cloudflare's platform only: accepted, ignored.
PLATFORM_KEYS = frozenset(
    {
        "$schema",
        "account_id",
        "alias",
        "base_dir",
        "build",
        "compliance_region",
        "containers",
        "define",
        "dev",
        "find_additional_modules",
        "first_party_worker",
        "jsx_factory",
        "jsx_fragment",
        "keep_names",
        "keep_vars",
        "legacy_env",
        "logpush",
        "migrations",
        "minify",
        "no_bundle",
        "node_compat",
        "observability",
        "placement",
        "preserve_file_names",
        "preview_urls",
        "python_modules",
        "route",
        "routes",
        "rules",
        "send_metrics",
        "tail_consumers",
        "tsconfig",
        "unsafe",
        "upload_source_maps",
        "usage_model",
        "workers_dev",
        "zone_id",
    }
)

#: Binding keys edgeworks does not provide -> the kind named in warnings and errors.
UNSUPPORTED_BINDINGS = {
    "ai": "Workers AI",
    "analytics_engine_datasets": "Analytics Engine dataset",
    "browser": "Browser Rendering",
    "d1_databases": "D1 database",
    "dispatch_namespaces": "dispatch namespace",
    "durable_objects": "Durable Object namespace",
    "hyperdrive": "Hyperdrive",
    "images": "Images",
    "mtls_certificates": "mTLS certificate",
    "pipelines": "Pipeline",
    "r2_buckets": "R2 bucket",
    "ratelimits": "rate limiter",
    "secrets_store_secrets": "Secrets Store secret",
    "send_email": "send_email",
    "services": "service binding",
    "vectorize": "Vectorize index",
    "version_metadata": "version metadata",
    "vpc_services": "VPC service",
    "worker_loaders": "Worker Loader",
    "workflows": "Workflow",
}

#: Keys an ``env.<NAME>`` section inherits from the top level when it does not set them.
_INHERITED = frozenset(
    {"main", "compatibility_date", "compatibility_flags", "triggers", "limits", "assets", "site"}
)
_MAPPED = frozenset(
    {"name", "vars", "kv_namespaces", "env", "queues"} | _INHERITED | UNSUPPORTED_BINDINGS.keys()
)
#: wrangler serves assets before the worker and calls the worker for a miss.
ASSETS_NOT_FOUND_DEFAULT = "none"
_ASSETS_KEYS = frozenset(
    {"directory", "binding", "html_handling", "not_found_handling", "run_worker_first"}
)
# The keys of wrangler's queue entries that edgeworks' [queues] models take as they are.
_QUEUE_KEYS = {
    "producers": frozenset({"binding", "queue", "delivery_delay"}),
    "consumers": frozenset(
        {
            "queue",
            "type",
            "max_batch_size",
            "max_batch_timeout",
            "max_retries",
            "dead_letter_queue",
            "retry_delay",
            "max_concurrency",
        }
    ),
}
PULL_CONSUMER = "http_pull"  # consumers Cloudflare's HTTP API pulls from: not run here
_JSON_ERROR = re.compile(r"^<string>:(\d+) (.*?)(?: at column (\d+))?$", re.DOTALL)


class CloudflareConfig(BaseModel):
    """What a wrangler config says beyond the edgeworks fields (``Config.cloudflare``).

    ``unsupported`` maps binding name -> kind for bindings edgeworks does not
    provide; ``warnings`` are the lines to show once at start.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    assets: bool = False  # an ``assets`` table set the [site] fields
    compatibility_date: str | None = None
    compatibility_flags: tuple[str, ...] = ()
    assets_binding: str | None = None
    run_worker_first: bool | tuple[str, ...] = False
    unsupported: dict[str, str] = {}
    warnings: tuple[str, ...] = ()


def log_warnings(cloudflare: CloudflareConfig | None) -> None:
    """Log a wrangler config's warnings (``edgeworks.config``): once, at server start."""
    if cloudflare is not None and cloudflare.warnings:
        import logging

        log = logging.getLogger("edgeworks.config")
        for line in cloudflare.warnings:
            log.warning("%s", line)


# edgeworks field -> the wrangler key it came from, for error messages.
_RENAMED = {
    "site.bucket": "assets.directory",
    "site.html_handling": "assets.html_handling",
    "site.not_found_handling": "assets.not_found_handling",
}
_RENAMED_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in _RENAMED) + r")\b")


def wrangler_names(message: str, cloudflare: CloudflareConfig) -> str:
    """A config error about a wrangler file, with its keys as the file names them."""
    if not cloudflare.assets:
        return message  # a legacy `site.bucket` is named as written
    return _RENAMED_RE.sub(lambda m: _RENAMED[m[1]], message)


def is_wrangler_file(path: Path) -> bool:
    """Whether ``path`` is named like a wrangler config."""
    return path.name in WRANGLER_FILENAMES


def read_wrangler(
    file: Path, *, env_name: str | None, base: Path, state_dir: Path
) -> tuple[Layer, CloudflareConfig]:
    """The file as a config layer (edgeworks field names) and its Cloudflare-only data."""
    label = str(file)
    data = _parse(file, label)
    warnings: list[str] = []
    data = _select_env(data, env_name, label)
    layer = Layer()
    unsupported: dict[str, str] = {}
    for key, value in data.items():
        if key in PLATFORM_KEYS:
            continue
        if key in UNSUPPORTED_BINDINGS:
            for name in _binding_names(key, value, label):
                unsupported[name] = UNSUPPORTED_BINDINGS[key]
        elif key not in _MAPPED:
            close = difflib.get_close_matches(key, sorted(_MAPPED | PLATFORM_KEYS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            warnings.append(f"{label}: unknown key {key!r} ignored{hint}")
    for key in ("name", "main", "vars"):
        if key in data:
            layer.set(key, data[key], label)
    if "kv_namespaces" in data:
        layer.set("kv_namespaces", _kv_namespaces(data["kv_namespaces"], label), label)
    triggers = _table(data, "triggers", label)
    if "crons" in triggers:
        layer.set("triggers.crons", triggers["crons"], label)
    limits = _table(data, "limits", label)
    if "cpu_ms" in limits:
        layer.set("limits.cpu_ms", limits["cpu_ms"], label)
    for kind, entries in _queues(data, label, warnings).items():
        layer.set(f"queues.{kind}", entries, label)
    site = _table(data, "site", label)
    if "bucket" in site:
        layer.set("site.bucket", site["bucket"], label)
    assets_binding, run_worker_first = _assets(data, layer, label)
    flags = data.get("compatibility_flags", [])
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise ConfigError(f"{label}: compatibility_flags = {show(flags)} must be a list of strings")
    date = data.get("compatibility_date")
    if date is not None and not isinstance(date, str):
        raise ConfigError(f"{label}: compatibility_date = {show(date)} must be a string")
    for name, kind in unsupported.items():
        warnings.append(
            f"{label}: binding {name!r} ({kind}) is not supported by edgeworks; "
            "using it in the worker raises an error"
        )
    resolve_layer_paths(layer, base=base, state_dir=state_dir)
    return layer, CloudflareConfig(
        env=env_name,
        assets="assets" in data,
        compatibility_date=date,
        compatibility_flags=tuple(flags),
        assets_binding=assets_binding,
        run_worker_first=run_worker_first,
        unsupported=unsupported,
        warnings=tuple(warnings),
    )


# --- parsing --------------------------------------------------------------------------


def _parse(file: Path, label: str) -> dict[str, Any]:
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read the config file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{label}: not UTF-8 text (byte {exc.start})") from None
    if file.suffix == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(toml_message(label, str(exc))) from None
    else:
        try:  # plain JSON parses 100x faster; json5 (pure Python) handles the rest
            data = json.loads(text)
        except ValueError:
            data = _jsonc(text, label)
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: the config must be an object, not {type(data).__name__}")
    return data


def _jsonc(text: str, label: str) -> Any:
    """JSON with comments and trailing commas; errors name the line and column."""
    import json5  # lazy: only wrangler.jsonc/.json projects parse JSONC

    try:
        return json5.loads(text)
    except ValueError as exc:
        match = _JSON_ERROR.match(str(exc))
        if match is None:
            raise ConfigError(f"{label}: invalid JSONC: {exc}") from None
        line, problem, column = match[1], match[2], match[3] or "1"
        raise ConfigError(f"{label}:{line}:{column}: invalid JSONC: {problem}") from None


def _select_env(data: dict[str, Any], env_name: str | None, label: str) -> dict[str, Any]:
    """The top level, or ``env.<NAME>`` over the inherited top-level keys."""
    envs = data.get("env", {})
    if not isinstance(envs, dict):
        raise ConfigError(f"{label}: env = {show(envs)} must be a table of named environments")
    if env_name is None:
        return data
    section = envs.get(env_name)
    if not isinstance(section, dict):
        known = ", ".join(sorted(envs)) or "none"
        raise ConfigError(f"{label}: --env {env_name}: no env.{env_name} section; defined: {known}")
    selected = {k: v for k, v in data.items() if k in _INHERITED or k in PLATFORM_KEYS}
    selected.update(section)
    # wrangler names the worker of an environment "<name>-<env>" unless the section names it.
    if "name" not in section and isinstance(data.get("name"), str):
        selected["name"] = f"{data['name']}-{env_name}"
    return selected


def _table(data: Mapping[str, Any], key: str, label: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: {key} = {show(value)} must be a table (an object)")
    return value


def _kv_namespaces(value: Any, label: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ConfigError(
            f"{label}: kv_namespaces = {show(value)} must be an array of {{binding, id}} objects"
        )
    mapped = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("binding"), str):
            raise ConfigError(
                f"{label}: kv_namespaces[{index}] = {show(item)} must be an object with a "
                "string binding"
            )
        # A placeholder id (<YOUR_KV_NAMESPACE_ID>) or none at all is a local name.
        mapped.append({"binding": item["binding"], "id": item.get("id") or item["binding"]})
    return mapped


def _assets(data: Mapping[str, Any], layer: Layer, label: str) -> tuple[str | None, Any]:
    assets = _table(data, "assets", label)
    if not assets:
        return None, False
    for key in assets:
        if key not in _ASSETS_KEYS:
            raise ConfigError(
                f"{label}: unknown key 'assets.{key}'; allowed: {', '.join(sorted(_ASSETS_KEYS))}"
            )
    if "directory" not in assets:
        raise ConfigError(f"{label}: assets.directory is required (the folder to serve)")
    layer.set("site.bucket", assets["directory"], label)
    layer.set(
        "site.not_found_handling",
        assets.get("not_found_handling", ASSETS_NOT_FOUND_DEFAULT),
        label,
    )
    if "html_handling" in assets:
        layer.set("site.html_handling", assets["html_handling"], label)
    binding = assets.get("binding")
    if binding is not None and (not isinstance(binding, str) or not binding.isidentifier()):
        raise ConfigError(f"{label}: assets.binding = {show(binding)} must be a binding name")
    first = assets.get("run_worker_first", False)
    if isinstance(first, list) and all(isinstance(p, str) for p in first):
        first = tuple(first)
    elif not isinstance(first, bool):
        raise ConfigError(
            f"{label}: assets.run_worker_first = {show(first)} must be true, false or a list "
            'of path patterns like ["/api/*"]'
        )
    return binding, first


def _queues(data: Mapping[str, Any], label: str, warnings: list[str]) -> dict[str, Any]:
    """``queues.producers``/``queues.consumers`` for edgeworks' [queues]: keys it does
    not take are warnings (and dropped), pull consumers a warning each."""
    section = _table(data, "queues", label)
    mapped: dict[str, Any] = {}
    for kind, value in section.items():
        if kind not in _QUEUE_KEYS:
            warnings.append(f"{label}: unknown key 'queues.{kind}' ignored")
            continue
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(f"{label}: queues.{kind} = {show(value)} must be an array of objects")
        entries = []
        for index, entry in enumerate(value):
            if kind == "consumers" and entry.get("type") == PULL_CONSUMER:
                warnings.append(
                    f"{label}: queues.consumers[{index}] is an HTTP pull consumer of "
                    f"{entry.get('queue')!r}: edgeworks runs only worker consumers; ignored"
                )
                continue
            for key in sorted(set(entry) - _QUEUE_KEYS[kind]):
                warnings.append(f"{label}: queues.{kind}[{index}].{key} ignored")
            entries.append({k: v for k, v in entry.items() if k in _QUEUE_KEYS[kind]})
        mapped[kind] = entries
    return mapped


def _binding_names(key: str, value: Any, label: str) -> list[str]:
    """The binding names an unsupported section declares (lists, objects, DO bindings)."""
    if key == "durable_objects" and isinstance(value, dict):
        value = value.get("bindings", [])
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = item.get("binding") or item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            raise ConfigError(f"{label}: {key}: {show(item)} has no binding name")
        names.append(name)
    return names
