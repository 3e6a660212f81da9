"""``_redirects`` and ``_headers``: parsed at deploy (warnings with line numbers),
stored in the manifest as plain JSON data, compiled once per manifest when serving.

``_redirects``: one ``from to [status]`` per line, ``#`` comments, default 302,
statuses 200 (rewrite) 301 302 303 307 308; ``*`` (captured as ``:splat``) and
``:name`` placeholders. Static rules are looked up first, then dynamic ones in
file order; once a dynamic rule appears every later rule counts as dynamic (so
file order decides). The first rule for a source wins.

``_headers``: a line starting with ``/`` opens a rule; indented ``Name: value``
lines add headers, ``! Name`` removes one. Every matching rule applies in file
order: the first rule to set a header replaces the response's value, later ones
append with ``, ``.

Rules match the request path as sent (percent-encoded), like Workers Static Assets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sites import limits

_TOKEN = re.compile(r"\*|:[A-Za-z_]\w*")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _is_dynamic(pattern: str) -> bool:
    return _TOKEN.search(pattern) is not None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A full-match regex: ``*`` -> group ``splat`` (any text), ``:name`` -> one segment."""
    out: list[str] = []
    pos = 0
    seen: set[str] = set()
    for match in _TOKEN.finditer(pattern):
        out.append(re.escape(pattern[pos : match.start()]))
        token = match.group()
        name = "splat" if token == "*" else token[1:]
        if name in seen:
            out.append(".*" if token == "*" else "[^/]+")
        else:
            seen.add(name)
            out.append(f"(?P<{name}>.*)" if token == "*" else f"(?P<{name}>[^/]+)")
        pos = match.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("".join(out), re.DOTALL)


def substitute(template: str, groups: dict[str, str]) -> str:
    """Replace ``:splat`` / ``:name`` in ``template`` with captured text."""
    if not groups:
        return template
    return _TOKEN.sub(lambda m: groups.get(m.group()[1:], m.group()), template)


def _lines(text: str, filename: str, warnings: list[str]) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > limits.MAX_RULE_LINE_CHARS:
            warnings.append(
                f"{filename}:{number}: line is longer than {limits.MAX_RULE_LINE_CHARS} characters; ignored"
            )
            continue
        lines.append((number, line))
    return lines


# --- _redirects -----------------------------------------------------------------


def parse_redirects(
    text: str, filename: str = limits.REDIRECTS_FILE
) -> tuple[dict[str, Any], list[str]]:
    """Parse ``_redirects``: JSON-able rules and warnings (``_redirects:LINE: why``)."""
    warnings: list[str] = []
    static: dict[str, list[Any]] = {}
    dynamic: list[list[Any]] = []
    sources: set[str] = set()
    for number, raw in _lines(text, filename, warnings):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.split(" #", 1)[0].strip()
        where = f"{filename}:{number}"
        parts = line.split()
        if len(parts) not in (2, 3):
            warnings.append(
                f"{where}: expected `from to [status]`, got {len(parts)} fields; ignored"
            )
            continue
        source, target = parts[0], parts[1]
        status = limits.DEFAULT_REDIRECT_STATUS
        if len(parts) == 3:
            if not parts[2].isdigit() or int(parts[2]) not in limits.REDIRECT_STATUSES:
                allowed = ", ".join(str(s) for s in sorted(limits.REDIRECT_STATUSES))
                warnings.append(f"{where}: status {parts[2]!r} is not one of {allowed}; ignored")
                continue
            status = int(parts[2])
        if not source.startswith("/") or source.startswith("//"):
            warnings.append(
                f"{where}: source {source!r} must be a path starting with one `/`; ignored"
            )
            continue
        if source.count("*") > 1:
            warnings.append(f"{where}: source {source!r} has more than one `*`; ignored")
            continue
        absolute = target.startswith(("http://", "https://"))
        if not (absolute or (target.startswith("/") and not target.startswith("//"))):
            warnings.append(
                f"{where}: target {target!r} must be a path starting with one `/` or an http(s) URL; ignored"
            )
            continue
        if status == 200 and absolute:
            warnings.append(
                f"{where}: a 200 rewrite cannot point to another site ({target}); ignored"
            )
            continue
        if status == 200 and source == "/*":
            warnings.append(
                f"{where}: `/* ... 200` would rewrite every path; use "
                'not_found_handling = "single-page-application" instead; ignored'
            )
            continue
        if source in sources:
            warnings.append(f"{where}: a rule for {source} already exists above; ignored")
            continue
        if dynamic or _is_dynamic(source):
            if len(dynamic) >= limits.MAX_DYNAMIC_REDIRECTS:
                warnings.append(
                    f"{where}: more than {limits.MAX_DYNAMIC_REDIRECTS} dynamic rules; ignored"
                )
                continue
            dynamic.append([source, target, status])
        else:
            if len(static) >= limits.MAX_STATIC_REDIRECTS:
                warnings.append(
                    f"{where}: more than {limits.MAX_STATIC_REDIRECTS} static rules; ignored"
                )
                continue
            static[source] = [target, status]
        sources.add(source)
    return {"static": static, "dynamic": dynamic}, warnings


@dataclass(frozen=True, slots=True)
class RedirectMatch:
    """The rule that matched: ``target`` with placeholders filled in, and its status."""

    target: str
    status: int


class RedirectRules:
    """Compiled ``_redirects`` rules."""

    def __init__(self, data: dict[str, Any] | None) -> None:
        data = data or {}
        self._static: dict[str, tuple[str, int]] = {
            src: (str(rule[0]), int(rule[1])) for src, rule in data.get("static", {}).items()
        }
        self._dynamic = [
            (compile_pattern(src), str(target), int(status))
            for src, target, status in data.get("dynamic", [])
        ]

    def __bool__(self) -> bool:
        return bool(self._static or self._dynamic)

    def match(self, path: str) -> RedirectMatch | None:
        rule = self._static.get(path)
        if rule is not None:
            return RedirectMatch(rule[0], rule[1])
        for pattern, target, status in self._dynamic:
            found = pattern.fullmatch(path)
            if found is not None:
                groups = {k: v for k, v in found.groupdict().items() if v is not None}
                return RedirectMatch(substitute(target, groups), status)
        return None


# --- _headers -------------------------------------------------------------------


def parse_headers(
    text: str, filename: str = limits.HEADERS_FILE
) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse ``_headers``: JSON-able rules and warnings (``_headers:LINE: why``)."""
    warnings: list[str] = []
    rules: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for number, raw in _lines(text, filename, warnings):
        where = f"{filename}:{number}"
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not raw[0].isspace() and line.startswith("/"):
            current = None
            if line.startswith("//"):
                warnings.append(f"{where}: path {line!r} must start with one `/`; rule ignored")
                continue
            if line.count("*") > 1:
                warnings.append(f"{where}: path {line!r} has more than one `*`; rule ignored")
                continue
            if len(rules) >= limits.MAX_HEADER_RULES:
                warnings.append(f"{where}: more than {limits.MAX_HEADER_RULES} rules; rule ignored")
                continue
            current = {"path": line, "set": [], "unset": []}
            rules.append(current)
            continue
        if current is None:
            warnings.append(
                f"{where}: header line outside a rule (start a rule with a `/path` line); ignored"
            )
            continue
        if line.startswith("!"):
            name = line[1:].strip().lower()
            if not _HEADER_NAME.match(name):
                warnings.append(f"{where}: invalid header name {name!r}; ignored")
                continue
            current["unset"].append(name)
            continue
        name, sep, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep or not _HEADER_NAME.match(name):
            warnings.append(f"{where}: expected `Name: value`; ignored")
            continue
        if _BAD_VALUE.search(value):
            warnings.append(
                f"{where}: header value for {name} contains control characters; ignored"
            )
            continue
        existing = [pair for pair in current["set"] if pair[0] == name]
        if existing:
            existing[0][1] = f"{existing[0][1]}, {value}"
        else:
            current["set"].append([name, value])
    return rules, warnings


@dataclass(slots=True)
class _HeaderRule:
    pattern: re.Pattern[str]
    set: list[tuple[str, str]] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)


class HeaderRules:
    """Compiled ``_headers`` rules."""

    def __init__(self, data: Sequence[dict[str, Any]] | None) -> None:
        self._rules = [
            _HeaderRule(
                compile_pattern(str(rule["path"])),
                [(str(n), str(v)) for n, v in rule.get("set", [])],
                [str(n) for n in rule.get("unset", [])],
            )
            for rule in data or []
        ]

    def __bool__(self) -> bool:
        return bool(self._rules)

    def apply(self, path: str, headers: dict[str, str]) -> dict[str, str]:
        """``headers`` (lower-case names) with every rule matching ``path`` applied."""
        if not self._rules:
            return headers
        out = dict(headers)
        touched: set[str] = set()
        for rule in self._rules:
            found = rule.pattern.fullmatch(path)
            if found is None:
                continue
            groups = {k: v for k, v in found.groupdict().items() if v is not None}
            for name in rule.unset:
                out.pop(name, None)
                touched.discard(name)
            for name, template in rule.set:
                value = substitute(template, groups)
                if _BAD_VALUE.search(value):
                    continue  # a placeholder brought a control character: never send it
                if name in touched and name in out:
                    out[name] = f"{out[name]}, {value}"
                else:
                    out[name] = value
                    touched.add(name)
        return out
