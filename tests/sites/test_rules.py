"""_redirects and _headers: parsing with line-numbered warnings, matching, application."""

from __future__ import annotations

from sites import limits
from sites._rules import HeaderRules, RedirectRules, parse_headers, parse_redirects

REDIRECTS = """\
# comment
/old /new
/moved /there 301   # trailing comment
/blog/:year/:slug /posts/:year-:slug 308
/docs/* /documentation/:splat
/spa/* /index.html 200
/bad
/x /y 999
/ext https://example.com/ 302
/rewrite-ext https://example.com/ 200
/* /index.html 200
/old /duplicate
relative /x
/a /b 302 extra
"""


def test_redirects_parse_rules_and_warnings() -> None:
    data, warnings = parse_redirects(REDIRECTS)
    assert data["static"] == {"/old": ["/new", 302], "/moved": ["/there", 301]}
    assert [rule[0] for rule in data["dynamic"]] == [
        "/blog/:year/:slug",
        "/docs/*",
        "/spa/*",
        "/ext",
    ]
    lines = [w.split(":")[1] for w in warnings]
    assert lines == ["7", "8", "10", "11", "12", "13", "14"]
    assert all(w.startswith("_redirects:") for w in warnings)
    assert "999" in warnings[1]


def test_redirects_match_static_dynamic_and_placeholders() -> None:
    rules = RedirectRules(parse_redirects(REDIRECTS)[0])
    assert rules.match("/old") is not None and rules.match("/old").target == "/new"  # type: ignore[union-attr]
    hit = rules.match("/blog/2024/hello")
    assert hit is not None and (hit.target, hit.status) == ("/posts/2024-hello", 308)
    hit = rules.match("/docs/a/b/c")
    assert hit is not None and hit.target == "/documentation/a/b/c"
    assert rules.match("/blog/2024") is None
    assert rules.match("/nothing") is None


def test_redirects_rule_order_after_first_dynamic_rule() -> None:
    data, _ = parse_redirects("/a/* /first\n/a/b /second\n")
    hit = RedirectRules(data).match("/a/b")
    assert hit is not None and hit.target == "/first"


def test_redirects_limits() -> None:
    text = "".join(f"/s{i} /t\n" for i in range(limits.MAX_STATIC_REDIRECTS + 1))
    text += "".join(f"/d{i}/* /t\n" for i in range(limits.MAX_DYNAMIC_REDIRECTS + 1))
    text += "/" + "x" * limits.MAX_RULE_LINE_CHARS + " /t\n"
    data, warnings = parse_redirects(text)
    assert len(data["static"]) == limits.MAX_STATIC_REDIRECTS
    assert len(data["dynamic"]) == limits.MAX_DYNAMIC_REDIRECTS
    assert len(warnings) == 3


HEADERS = """\
# global
/*
  X-Frame-Options: DENY
  X-Multi: a
  X-Multi: b
/assets/*
  Cache-Control: public, max-age=31536000, immutable
  X-Frame-Options: SAMEORIGIN
/secret/:name
  ! X-Frame-Options
  X-Name: :name
X-Orphan: 1
/bad
  no colon here
  Bad Name: x
//double
  X-A: b
"""


def test_headers_parse_rules_and_warnings() -> None:
    rules, warnings = parse_headers(HEADERS)
    assert [r["path"] for r in rules] == ["/*", "/assets/*", "/secret/:name", "/bad"]
    assert rules[0]["set"] == [["x-frame-options", "DENY"], ["x-multi", "a, b"]]
    assert rules[2]["unset"] == ["x-frame-options"]
    assert rules[2]["set"] == [["x-name", ":name"], ["x-orphan", "1"]]  # indentation is optional
    assert [w.split(":")[1] for w in warnings] == ["14", "15", "16", "17"]
    _, warnings = parse_headers("X-Before-Any-Rule: 1\n")
    assert warnings and warnings[0].startswith("_headers:1: header line outside a rule")


def test_headers_apply_in_file_order() -> None:
    rules = HeaderRules(parse_headers(HEADERS)[0])
    base = {"cache-control": "public, max-age=0, must-revalidate", "content-type": "text/css"}
    out = rules.apply("/assets/app.css", base)
    # the first rule to set a header replaces, later matching rules append
    assert out["x-frame-options"] == "DENY, SAMEORIGIN"
    assert out["cache-control"] == "public, max-age=31536000, immutable"
    assert out["content-type"] == "text/css"
    out = rules.apply("/secret/bob", base)
    assert "x-frame-options" not in out
    assert out["x-name"] == "bob"
    assert rules.apply("/", {}) == {"x-frame-options": "DENY", "x-multi": "a, b"}


def test_headers_values_with_control_characters_are_refused() -> None:
    rules, warnings = parse_headers("/*\n  X-A: ok\x01bad\n")
    assert rules[0]["set"] == [] and len(warnings) == 1
