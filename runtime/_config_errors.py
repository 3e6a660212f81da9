"""Error messages of the configuration: every problem as one line.

Private helpers of ``runtime.config``: which source (file, variable, flag) each
field came from, and pydantic errors rewritten as
``<source>: <field> = <value> is invalid: <what is allowed>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

MAX_VALUE_REPR = 60  # characters of a bad value quoted in a message


@dataclass
class SourceMap:
    """Which file or variable each dotted field came from, for error messages."""

    default: str
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, dotted: str) -> str:
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            found = self.labels.get(".".join(parts[:end]))
            if found is not None:
                return found
        return self.default


# --- errors ---------------------------------------------------------------------------------

_PROBLEMS = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "path_type": "must be a path (a string)",
    "list_type": "must be an array",
    "tuple_type": "must be an array",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "string_too_short": "must not be empty",
}


def format_validation_error(exc: Exception, sources: SourceMap) -> str:
    """Every error of a pydantic ``ValidationError`` as one line, joined by ``; ``."""
    if not isinstance(exc, ValidationError):
        raise exc
    lines = []
    for err in exc.errors():
        dotted = _dotted(err["loc"])
        label = sources.label(dotted)
        kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
        if kind == "missing":
            lines.append(f"{label}: {dotted} is required")
            continue
        if kind == "value_error":
            problem = str(ctx.get("error", err["msg"]))
            if not dotted:
                lines.append(f"{label}: {problem}")
            elif isinstance(value, dict | list):
                lines.append(f"{label}: {dotted}: {problem}")
            else:
                lines.append(f"{label}: {dotted} = {show(value)} {problem}")
            continue
        problem = _problem(kind, ctx, err["msg"])
        name = dotted.rsplit(".", 1)[-1]
        if kind in ("list_type", "tuple_type") and isinstance(value, dict) and "." not in dotted:
            problem += f" (write one [[{name}]] table per entry)"
        elif kind in ("dict_type", "model_type") and isinstance(value, list):
            problem += f" (write [{dotted}], not [[{dotted}]])"
        lines.append(f"{label}: {dotted} = {show(value)} is invalid: {problem}")
    return "; ".join(lines)


def _problem(kind: str, ctx: dict[str, Any], msg: str) -> str:
    if kind in _PROBLEMS:
        return _PROBLEMS[kind]
    if kind == "greater_than":
        return f"must be an integer greater than {ctx['gt']}"
    if kind == "greater_than_equal":
        return f"must be an integer of at least {ctx['ge']}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "extra_forbidden":
        return "unknown key"
    return msg


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE_REPR else text[: MAX_VALUE_REPR - 3] + "..."
