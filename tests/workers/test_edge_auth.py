"""Edge auth: token parsing rules, then the worker through WorkerClient with an origin
that counts its hits (unauthorized requests must never reach it)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from workers.edge_auth import (
    MAX_TOKEN_LENGTH,
    Principal,
    _without_cookie,
    parse_principal,
    presented_token,
    well_formed,
)


def request_with(headers: list[tuple[str, str]]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Authorization", "Bearer abc.def")], ("abc.def", True)),
        ([("Authorization", "bearer   abc")], ("abc", True)),
        ([("Cookie", "edgeworks_token=xyz; other=1")], ("xyz", False)),
        ([("Authorization", "Basic dXNlcjpwdw=="), ("Cookie", "edgeworks_token=c")], ("c", False)),
        ([("Authorization", "Bearer ")], (None, False)),
        ([("Authorization", "Basic dXNlcjpwdw==")], (None, False)),
        ([], (None, False)),
    ],
)
def test_presented_token_reads_bearer_header_then_cookie(
    headers: list[tuple[str, str]], expected: tuple[str | None, bool]
) -> None:
    assert presented_token(request_with(headers), "edgeworks_token") == expected


def test_presented_token_ignores_cookie_when_cookie_auth_is_off() -> None:
    assert presented_token(request_with([("Cookie", "edgeworks_token=x")]), "") == (None, False)


@pytest.mark.parametrize("token", ["abc", "A-Z_a.z~0+9/==", "x" * MAX_TOKEN_LENGTH, "dGVzdA=="])
def test_well_formed_accepts_rfc6750_tokens(token: str) -> None:
    assert well_formed(token)


@pytest.mark.parametrize(
    "token",
    ["x" * (MAX_TOKEN_LENGTH + 1), "a b", "a\x00b", "é", "a=b", "a,b", "a;b"],
)
def test_well_formed_refuses_long_or_odd_tokens(token: str) -> None:
    assert not well_formed(token)


def test_parse_principal_reads_user_and_scopes() -> None:
    assert parse_principal("alice", {"scopes": ["read", "write"]}) == Principal(
        "alice", ("read", "write")
    )
    assert parse_principal("bob", None) == Principal("bob")
    assert parse_principal("bob", {"note": "no scopes"}) == Principal("bob")


@pytest.mark.parametrize(
    ("user", "metadata"),
    [
        ("", None),
        ("alice\r\nX-Admin: 1", None),
        ("x" * 257, None),
        ("alice", {"scopes": "read"}),
        ("alice", {"scopes": ["read,write"]}),
        ("alice", {"scopes": [1]}),
    ],
)
def test_parse_principal_refuses_entries_unsafe_as_headers(user: str, metadata: object) -> None:
    assert parse_principal(user, metadata) is None


def test_without_cookie_removes_only_the_token_cookie() -> None:
    assert _without_cookie("a=1; edgeworks_token=s3cret; b=2", "edgeworks_token") == "a=1; b=2"
    assert _without_cookie("edgeworks_token=s3cret", "edgeworks_token") == ""
