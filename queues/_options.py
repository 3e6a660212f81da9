"""Keyword and option-dict handling shared by the producer and consumer APIs.

Python Workers code passes JavaScript option names (``contentType=``,
``delaySeconds=``) as keywords or in a dict; both spellings are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from queues.errors import QueueError
from queues.limits import MAX_DELAY_SECONDS, MSG_OPTION_UNKNOWN, STATUS_BAD_REQUEST

# alias -> canonical option name
ALIASES = {
    "content_type": "content_type",
    "contentType": "content_type",
    "delay_seconds": "delay_seconds",
    "delaySeconds": "delay_seconds",
}


def merge(
    where: str, allowed: tuple[str, ...], options: Mapping[str, Any] | None, **given: Any
) -> dict[str, Any]:
    """Options from a dict and keywords (keywords win), by canonical name; ``None``
    values are dropped. An unknown name is a ``TypeError`` listing the allowed ones."""
    merged: dict[str, Any] = {}
    for source in (options or {}, given):
        if not isinstance(source, Mapping):
            raise TypeError(f"{where} options must be a dict, got {type(source).__name__}")
        for name, value in source.items():
            canonical = ALIASES.get(name)
            if canonical not in allowed:
                spelled = ", ".join(a for a, c in ALIASES.items() if c in allowed)
                raise TypeError(MSG_OPTION_UNKNOWN.format(where=where, name=name, allowed=spelled))
            if value is not None:
                merged[canonical] = value
    return merged


def delay(value: object, operation: str, message: str) -> int:
    """A delay in whole seconds, 0..MAX_DELAY_SECONDS; else a 400 ``QueueError``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DELAY_SECONDS:
        raise QueueError(
            operation, STATUS_BAD_REQUEST, message.format(value=value, maximum=MAX_DELAY_SECONDS)
        )
    return value
