"""Result types: attribute access, and item access shaped like the JS objects that
Cloudflare Python Workers code indexes into."""

from __future__ import annotations

import json

import pytest

from kv import KeyItem, ListResult, ValueWithMetadata


def test_key_item_item_form_omits_absent_fields() -> None:
    bare = KeyItem("a")
    assert (bare.name, bare.expiration, bare.metadata) == ("a", None, None)
    assert bare.to_dict() == {"name": "a"}
    with pytest.raises(KeyError):
        bare["expiration"]
    assert bare.get("metadata", "none") == "none"
    full = KeyItem("b", 1_700_000_060, {"m": [1]})
    assert full["expiration"] == 1_700_000_060 and full["metadata"] == {"m": [1]}
    assert "metadata" in full and "value" not in full


def test_key_item_compares_equal_to_its_dict_form() -> None:
    assert KeyItem("a", 5) == {"name": "a", "expiration": 5}
    assert KeyItem("a") != {"name": "a", "expiration": None}
    assert KeyItem("a", metadata=1) == KeyItem("a", metadata=1)
    assert KeyItem("a") != KeyItem("b")
    with pytest.raises(TypeError):
        hash(KeyItem("a"))


def test_list_result_cursor_item_only_when_incomplete() -> None:
    done = ListResult([KeyItem("a")], True, None)
    assert done.to_dict() == {"keys": [{"name": "a"}], "list_complete": True, "cacheStatus": None}
    assert "cursor" not in done and done.cursor is None
    more = ListResult([KeyItem("a")], False, "opaque")
    assert more["cursor"] == "opaque" and more["list_complete"] is False
    assert more["keys"][0]["name"] == "a"
    assert more.cacheStatus is None
    json.dumps(more.to_dict())


def test_value_with_metadata_forms() -> None:
    got = ValueWithMetadata("v", {"m": 1}, "HIT")
    assert (got["value"], got["metadata"], got["cacheStatus"]) == ("v", {"m": 1}, "HIT")
    assert got.cacheStatus == got.cache_status == "HIT"
    assert got == {"value": "v", "metadata": {"m": 1}, "cacheStatus": "HIT"}
    assert ValueWithMetadata() == {"value": None, "metadata": None, "cacheStatus": None}
    with pytest.raises(KeyError):
        got["cache_status"]
