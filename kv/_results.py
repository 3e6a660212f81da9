"""Result types of KV reads: attribute access for Python code, item access for code
written against Cloudflare Python Workers (whose results are JS objects turned into
dicts with attribute access).

The item form follows the JS shapes exactly: a list item without expiration or
metadata has no such item (``item["expiration"]`` raises ``KeyError``), a complete
list result has no ``"cursor"`` item, and the cache status is ``"cacheStatus"``.
Attributes are always present (``None`` when absent).

>>> page = await ns.list(prefix="user:")
>>> page.keys[0].name == page["keys"][0]["name"]
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class _ItemAccess:
    """Read-only item access over ``_items()``, which subclasses define."""

    __slots__ = ()

    def _items(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, name: str) -> Any:
        return self._items()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items()

    def get(self, name: str, default: Any = None) -> Any:
        """The item ``name``, or ``default`` when the result has no such item."""
        return self._items().get(name, default)

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-ready dict of the item form (nested results converted too)."""
        return {name: _plain(value) for name, value in self._items().items()}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        if type(other) is type(self):
            assert isinstance(other, _ItemAccess)
            return self.to_dict() == other.to_dict()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # metadata may be any JSON value


def _plain(value: Any) -> Any:
    if isinstance(value, _ItemAccess):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass(eq=False, slots=True)
class KeyItem(_ItemAccess):
    """One key of a list page: ``name``, ``expiration`` (absolute epoch seconds) and
    ``metadata`` (the parsed JSON value); the last two are ``None`` when the key has none."""

    name: str
    expiration: int | None = None
    metadata: Any = None

    def _items(self) -> dict[str, Any]:
        items: dict[str, Any] = {"name": self.name}
        if self.expiration is not None:
            items["expiration"] = self.expiration
        if self.metadata is not None:
            items["metadata"] = self.metadata
        return items


@dataclass(eq=False, slots=True)
class ListResult(_ItemAccess):
    """A page of ``list()``: ``keys``, ``list_complete`` and, only when the listing is
    not complete, an opaque ``cursor`` to pass back with the same prefix."""

    keys: list[KeyItem] = field(default_factory=list)
    list_complete: bool = True
    cursor: str | None = None
    cache_status: str | None = None

    @property
    def cacheStatus(self) -> str | None:  # the Workers name
        """Alias of ``cache_status``."""
        return self.cache_status

    def _items(self) -> dict[str, Any]:
        items: dict[str, Any] = {"keys": self.keys, "list_complete": self.list_complete}
        if self.cursor is not None:
            items["cursor"] = self.cursor
        items["cacheStatus"] = self.cache_status
        return items


@dataclass(eq=False, slots=True)
class ValueWithMetadata(_ItemAccess):
    """What ``get_with_metadata`` returns: ``value``, ``metadata`` and ``cache_status``
    (``"HIT"``, ``"MISS"``, or ``None`` when no edge cache is in play). A missing key
    gives all three ``None``."""

    value: Any = None
    metadata: Any = None
    cache_status: str | None = None

    @property
    def cacheStatus(self) -> str | None:  # the Workers name
        """Alias of ``cache_status``."""
        return self.cache_status

    def _items(self) -> dict[str, Any]:
        return {"value": self.value, "metadata": self.metadata, "cacheStatus": self.cache_status}
