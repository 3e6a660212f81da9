"""workers/_proxy.py: the origin URL check shared by the proxy workers."""

from __future__ import annotations

import pytest

from workers._proxy import OriginNotConfigured, origin_base


@pytest.mark.parametrize("value", [None, "", "ftp://x", "localhost:9000", "http://"])
def test_origin_base_rejects_missing_or_non_http_values(value: object) -> None:
    with pytest.raises(OriginNotConfigured, match="BLUE_ORIGIN"):
        origin_base(value, "BLUE_ORIGIN")


def test_origin_base_strips_trailing_slash() -> None:
    assert origin_base(" https://o.example:8443/ ", "ORIGIN") == "https://o.example:8443"
