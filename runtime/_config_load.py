"""Reading the layers of the configuration.

Private helpers of ``runtime.config``: discovery, TOML, ``EDGEWORKS_*`` variables,
CLI overrides, store URLs, dotenv files and unknown keys with a "did you mean"
(messages of pydantic errors are in ``_config_errors``).

A layer is flat: top-level keys, and ``section.field`` for tables
(``kv.store``), so a higher layer replaces single fields of a table.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from runtime._config_errors import SourceMap, show
from runtime.errors import ConfigError
from runtime.limits import KV_SQLITE_FILENAME, STATE_DIR

CONFIG_FILENAME = "edgeworks.toml"
ENV_PREFIX = (
    "EDGEWORKS_"  # EDGEWORKS_<FIELD> / EDGEWORKS_<SECTION>_<FIELD>, e.g. EDGEWORKS_KV_STORE
)
ENV_CONFIG = "EDGEWORKS_CONFIG"  # path of the config file when --config is not given
STORE_KEYWORDS = ("memory", "sqlite")
STORE_SCHEMES = ("memory", "redis", "sqlite")  # as kv.open_store registers them
PATH_FIELDS = ("main", "site.bucket")  # resolved against the layer's base folder
NAME_RULE = "use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"


@dataclass
class Layer:
    """Flat values of one source; ``labels`` names the source of each value."""

    values: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def set(self, dotted: str, value: Any, label: str) -> None:
        self.values[dotted] = value
        self.labels[dotted] = label


# --- discovery and the file ----------------------------------------------------------


def find_config_file(path: str | Path | None, cwd: Path, environ: Mapping[str, str]) -> Path | None:
    """``path`` (a file or a folder holding edgeworks.toml), else ``EDGEWORKS_CONFIG``,
    else the first edgeworks.toml in ``cwd`` or its parents, else ``None``."""
    given, label = (path, "--config") if path is not None else (environ.get(ENV_CONFIG), ENV_CONFIG)
    if given:
        candidate = absolute(cwd, given)
        if candidate.is_dir():
            candidate = candidate / CONFIG_FILENAME
        if not candidate.is_file():
            raise ConfigError(f"{label}: config file {str(candidate)!r} does not exist")
        return candidate
    for folder in (cwd, *cwd.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    return None


def read_toml(file: Path, model: type[BaseModel], *, base: Path, state_dir: Path) -> Layer:
    """The file as a layer; invalid TOML names line and column; unknown keys are errors."""
    label = str(file)
    try:
        text = file.read_bytes().decode("utf-8-sig")  # editors on Windows may add a BOM
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read the config file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{label}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_message(label, str(exc))) from None
    check_unknown_keys(data, model, label)
    layer = Layer()
    for key, value in data.items():
        if isinstance(value, dict) and value:
            for sub, item in value.items():
                layer.set(f"{key}.{sub}", item, label)
        else:
            layer.set(key, value, label)
    resolve_layer_paths(layer, base=base, state_dir=state_dir)
    return layer


def _toml_message(label: str, message: str) -> str:
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if match:
        detail = message[: match.start()]
        return f"{label}:{match[1]}:{match[2]}: invalid TOML: {detail}"
    return f"{label}: invalid TOML: {message}"


# --- environment and overrides ---------------------------------------------------------


def env_fields(model: type[BaseModel]) -> dict[str, tuple[str, Any]]:
    """``EDGEWORKS_*`` name -> (dotted field, annotation) for every scalar-ish field."""
    table: dict[str, tuple[str, Any]] = {}
    for name, info in public_fields(model).items():
        sub = submodel(info.annotation)
        if sub is not None and typing.get_origin(info.annotation) is not tuple:
            for sub_name, sub_info in public_fields(sub).items():
                dotted = f"{name}.{sub_name}"
                table[_env_name(dotted)] = (dotted, sub_info.annotation)
        elif sub is None and name != "vars":
            table[_env_name(name)] = (name, info.annotation)
    return table


def _env_name(dotted: str) -> str:
    return ENV_PREFIX + dotted.replace(".", "_").upper()


def env_layer(
    environ: Mapping[str, str], model: type[BaseModel], *, base: Path, state_dir: Path
) -> Layer:
    """``EDGEWORKS_<SECTION>_<FIELD>`` variables as a layer. Unknown names under a known
    section prefix (``EDGEWORKS_KV_STOR``) are errors; other ``EDGEWORKS_*`` are ignored."""
    table = env_fields(model)
    sections = {
        _env_name(n) + "_" for n, i in public_fields(model).items() if submodel(i.annotation)
    }
    layer = Layer()
    for name, raw in environ.items():
        if name in table:
            dotted, annotation = table[name]
            layer.set(dotted, _convert_env(name, dotted, raw, annotation), name)
        elif name.startswith(tuple(sections)) and name != ENV_CONFIG:
            close = difflib.get_close_matches(name, table, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"{name}: unknown environment variable{hint}")
    resolve_layer_paths(layer, base=base, state_dir=state_dir)
    return layer


def _convert_env(name: str, dotted: str, raw: str, annotation: Any) -> Any:
    if annotation is int:
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(
                f"{name}: {dotted} = {raw!r} is invalid: must be an integer"
            ) from None
    if typing.get_origin(annotation) is tuple:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def override_layer(
    overrides: Mapping[str, Any], model: type[BaseModel], *, base: Path, state_dir: Path
) -> Layer:
    """CLI flags: dotted keys (``"kv.store"``) or nested mappings; ``None`` is skipped."""
    layer = Layer()
    for key, value in _flatten(overrides):
        if value is None:
            continue
        top, _, sub = key.partition(".")
        fields = public_fields(model)
        sub_model = submodel(fields[top].annotation) if top in fields else None
        if top not in fields or (
            sub and sub_model is not None and sub not in public_fields(sub_model)
        ):
            raise ConfigError(f"override {key!r}: unknown config field")
        layer.set(key, value, f"override {key}")
    resolve_layer_paths(layer, base=base, state_dir=state_dir)
    return layer


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and not prefix and key != "vars":
            yield from _flatten(value, dotted + ".")
        else:
            yield dotted, value


# --- paths and store URLs -----------------------------------------------------------------


def resolve_layer_paths(layer: Layer, *, base: Path, state_dir: Path) -> None:
    """Make path fields absolute against ``base`` and add ``kv.store_url``."""
    for dotted in PATH_FIELDS:
        value = layer.values.get(dotted)
        if isinstance(value, str):
            if not value.strip():
                raise ConfigError(f"{layer.labels[dotted]}: {dotted} = '' is invalid: give a path")
            layer.values[dotted] = str(absolute(base, value))
    store = layer.values.get("kv.store")
    if isinstance(store, str):
        label = layer.labels["kv.store"]
        layer.set("kv.store_url", resolve_store_url(store, base, state_dir, label), label)


def resolve_store_url(store: str, base: Path, state_dir: Path, label: str) -> str:
    """``[kv] store`` as a URL for ``kv.open_store``; relative SQLite paths use ``base``."""
    allowed = (
        f'"sqlite" (the default, {STATE_DIR}/{KV_SQLITE_FILENAME}), "memory", sqlite:///abs/path, '
        f"sqlite://relative/path, redis://host:6379/0 or a file path like data/{KV_SQLITE_FILENAME}"
    )
    text = store.strip()
    if text == "sqlite":
        return _sqlite_url(state_dir / KV_SQLITE_FILENAME, "")
    if text in ("memory", "memory://"):
        return "memory://"
    scheme, sep, rest = text.partition(":")
    if sep and scheme in STORE_SCHEMES:
        if scheme != "sqlite":
            return text
        path, _, query = rest.removeprefix("//").partition("?")
        if path:
            return _sqlite_url(base / path, query)
    elif "://" not in text and ("/" in text or "." in text):
        return _sqlite_url(base / text, "")
    close = difflib.get_close_matches(text, STORE_KEYWORDS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(f"{label}: kv.store = {store!r} is not a known store: {hint}use {allowed}")


def absolute(base: Path, path: str | Path) -> Path:
    """``path`` against ``base``, with ``..`` collapsed (symlinks are kept as written)."""
    return Path(os.path.normpath(base / path))


def _sqlite_url(path: Path, query: str) -> str:
    url = "sqlite:///" + str(absolute(Path.cwd(), path)).lstrip("/")
    return f"{url}?{query}" if query else url


# --- merging and unknown keys ---------------------------------------------------------------


def merge_layers(layers: Iterable[Layer], default_label: str) -> tuple[dict[str, Any], SourceMap]:
    """Nested data from flat layers, later layers winning field by field."""
    flat: dict[str, Any] = {}
    sources = SourceMap(default_label)
    for layer in layers:
        for dotted, value in layer.values.items():
            if "." not in dotted:
                # A whole table replaces the fields lower layers set inside it.
                for key in [k for k in flat if k.startswith(dotted + ".")]:
                    del flat[key]
            flat[dotted] = value
            sources.labels[dotted] = layer.labels[dotted]
    data: dict[str, Any] = {}
    for dotted in sorted(flat, key=lambda k: "." in k):
        top, _, sub = dotted.partition(".")
        if not sub:
            data[top] = flat[dotted]
            continue
        table = data.get(top)
        if not isinstance(table, dict):
            table = data[top] = {}
        table[sub] = flat[dotted]
    return data, sources


def public_fields(model: type[BaseModel]) -> dict[str, Any]:
    """Fields a user may write: every model field except computed (``_internal``) ones."""
    internal: frozenset[str] = getattr(model, "_internal", frozenset())
    if not isinstance(internal, frozenset):  # pydantic wraps private ClassVars
        internal = frozenset(getattr(internal, "default", frozenset()))
    return {k: v for k, v in model.model_fields.items() if k not in internal}


def submodel(annotation: Any) -> type[BaseModel] | None:
    """The model class inside ``X``, ``X | None`` or ``tuple[X, ...]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = submodel(arg)
        if found is not None:
            return found
    return None


def check_unknown_keys(data: Any, model: type[BaseModel], label: str, where: str = "") -> None:
    """Reject keys the models do not know, suggesting the closest allowed one."""
    if not isinstance(data, dict):
        return
    fields = public_fields(model)
    for key, value in data.items():
        dotted = f"{where}{key}"
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            table = re.sub(r"\[\d+\]", "", where.rstrip("."))
            section = (
                ("[[{}]]" if "[" in where else "[{}]").format(table) if where else "the top level"
            )
            raise ConfigError(
                f"{label}: unknown key {dotted!r}; {hint}allowed in {section}: "
                + ", ".join(sorted(fields))
            )
        sub = submodel(fields[key].annotation)
        if sub is None:
            continue
        if isinstance(value, list):
            for index, item in enumerate(value):
                check_unknown_keys(item, sub, label, f"{dotted}[{index}].")
        else:
            check_unknown_keys(value, sub, label, f"{dotted}.")


# --- dotenv ---------------------------------------------------------------------------------


def parse_env_file(file: Path) -> dict[str, str]:
    """``KEY=value`` lines (python-dotenv syntax, no interpolation); errors name the line."""
    from dotenv.parser import parse_stream

    label = str(file)
    try:
        with file.open(encoding="utf-8") as stream:
            bindings = list(parse_stream(stream))
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read the env file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{label}: not UTF-8 text (byte {exc.start})") from None
    values: dict[str, str] = {}
    for binding in bindings:
        line = binding.original.line
        if binding.error:
            text = binding.original.string.strip()
            raise ConfigError(f"{label}:{line}: cannot parse {show(text)}: write NAME=value")
        if binding.key is None:
            continue  # blank line or comment
        if binding.value is None:
            raise ConfigError(f"{label}:{line}: {binding.key} has no value: write NAME=value")
        values[binding.key] = binding.value
    return values
