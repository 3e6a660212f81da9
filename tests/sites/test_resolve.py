"""html_handling table (docs/sites.md, "Serving") row by row, not_found_handling, decoding."""

from __future__ import annotations

import pytest

from sites._resolve import Intent, MalformedPath, Resolver, decode_path, encode_path

FILES = {"/index.html", "/about.html", "/blog/index.html"}

# request -> expected per mode: ("200", file) | ("307", location) | ("404", None)
TABLE = {
    "/": {
        "auto-trailing-slash": ("200", "/index.html"),
        "force-trailing-slash": ("200", "/index.html"),
        "drop-trailing-slash": ("200", "/index.html"),
        "none": ("404", None),
    },
    "/index.html": {
        "auto-trailing-slash": ("307", "/"),
        "force-trailing-slash": ("307", "/"),
        "drop-trailing-slash": ("307", "/"),
        "none": ("200", "/index.html"),
    },
    "/about": {
        "auto-trailing-slash": ("200", "/about.html"),
        "force-trailing-slash": ("307", "/about/"),
        "drop-trailing-slash": ("200", "/about.html"),
        "none": ("404", None),
    },
    "/about.html": {
        "auto-trailing-slash": ("307", "/about"),
        "force-trailing-slash": ("307", "/about/"),
        "drop-trailing-slash": ("307", "/about"),
        "none": ("200", "/about.html"),
    },
    "/about/": {
        "auto-trailing-slash": ("307", "/about"),
        "force-trailing-slash": ("200", "/about.html"),
        "drop-trailing-slash": ("307", "/about"),
        "none": ("404", None),
    },
    "/blog": {
        "auto-trailing-slash": ("307", "/blog/"),
        "force-trailing-slash": ("307", "/blog/"),
        "drop-trailing-slash": ("200", "/blog/index.html"),
        "none": ("404", None),
    },
    "/blog/": {
        "auto-trailing-slash": ("200", "/blog/index.html"),
        "force-trailing-slash": ("200", "/blog/index.html"),
        "drop-trailing-slash": ("307", "/blog"),
        "none": ("404", None),
    },
    "/blog/index.html": {
        "auto-trailing-slash": ("307", "/blog/"),
        "force-trailing-slash": ("307", "/blog/"),
        "drop-trailing-slash": ("307", "/blog"),
        "none": ("200", "/blog/index.html"),
    },
}

CASES = [(req, mode, exp) for req, row in TABLE.items() for mode, exp in row.items()]


def _outcome(intent: Intent | None) -> tuple[str, str | None]:
    if intent is None:
        return ("404", None)
    if intent.redirect is not None:
        return ("307", intent.redirect)
    return (str(intent.status), intent.path)


@pytest.mark.parametrize(("request_path", "mode", "expected"), CASES)
def test_html_handling_table_row(
    request_path: str, mode: str, expected: tuple[str, str | None]
) -> None:
    resolver = Resolver(FILES, mode, "none")
    assert _outcome(resolver.resolve(request_path)) == expected


def _files_served_for(request_path: str) -> set[str | None]:
    """The files any mode serves (200) for ``request_path``: the file the path names."""
    return {exp[1] for exp in TABLE[request_path].values() if exp[0] == "200"}


@pytest.mark.parametrize(
    "mode", ["auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash"]
)
def test_html_handling_every_redirect_lands_on_the_same_file(mode: str) -> None:
    resolver = Resolver(FILES, mode, "none")
    redirects = 0
    for request_path in TABLE:
        intent = resolver.resolve(request_path)
        if intent is not None and intent.redirect is not None:
            redirects += 1
            landed = resolver.resolve(intent.redirect)
            # One hop, no loop, and the file served is the one the first path named.
            assert landed is not None and landed.redirect is None, (request_path, intent)
            assert _outcome(landed)[0] == "200", (request_path, intent, landed)
            assert landed.path in _files_served_for(request_path), (request_path, landed)
    assert redirects >= 3, f"{mode}: the table should exercise redirects"


def test_html_handling_none_mode_never_redirects_and_serves_exact_files_only() -> None:
    resolver = Resolver(FILES, "none", "none")
    for request_path in TABLE:
        outcome = _outcome(resolver.resolve(request_path))
        expected = ("200", request_path) if request_path in FILES else ("404", None)
        assert outcome == expected, request_path


@pytest.mark.parametrize(
    "mode", ["auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none"]
)
def test_html_handling_exact_extensionless_file_wins(mode: str) -> None:
    resolver = Resolver({"/about", "/about.html", "/LICENSE"}, mode, "none")
    assert _outcome(resolver.resolve("/about")) == ("200", "/about")
    assert _outcome(resolver.resolve("/LICENSE")) == ("200", "/LICENSE")


def test_html_handling_no_redirect_when_target_serves_another_file() -> None:
    # /about.html exists but /about is an exact (binary) file: no redirect to /about.
    resolver = Resolver({"/about", "/about.html"}, "auto-trailing-slash", "none")
    assert _outcome(resolver.resolve("/about.html")) == ("200", "/about.html")


def test_not_found_404_page_nearest_ancestor() -> None:
    files = {"/index.html", "/404.html", "/docs/404.html", "/docs/a/page.html"}
    resolver = Resolver(files, "auto-trailing-slash", "404-page")
    assert _outcome(resolver.resolve("/docs/a/b/c")) == ("404", "/docs/404.html")
    assert _outcome(resolver.resolve("/docs/a/")) == ("404", "/docs/404.html")
    assert _outcome(resolver.resolve("/docs/nope")) == ("404", "/docs/404.html")
    assert _outcome(resolver.resolve("/other/x")) == ("404", "/404.html")
    assert _outcome(resolver.resolve("/nope.png")) == ("404", "/404.html")
    assert resolver.resolve("/docs/nope").fallback  # type: ignore[union-attr]


def test_not_found_404_page_without_any_404_file_is_plain() -> None:
    resolver = Resolver({"/index.html"}, "auto-trailing-slash", "404-page")
    assert resolver.resolve("/missing") is None


def test_not_found_spa_only_for_navigation_without_extension() -> None:
    resolver = Resolver(
        {"/index.html", "/app.js"}, "auto-trailing-slash", "single-page-application"
    )
    assert _outcome(resolver.resolve("/deep/route", navigation=True)) == ("200", "/index.html")
    assert resolver.resolve("/deep/route", navigation=False) is None
    assert resolver.resolve("/assets/nope.css", navigation=True) is None
    assert resolver.resolve("/v1.2/route.json", navigation=True) is None
    assert _outcome(resolver.resolve("/app.js", navigation=True)) == ("200", "/app.js")


def test_not_found_none_is_plain() -> None:
    resolver = Resolver({"/index.html", "/404.html"}, "auto-trailing-slash", "none")
    assert resolver.resolve("/missing") is None


def test_resolve_file_follows_html_redirects_for_rewrites() -> None:
    resolver = Resolver(FILES, "auto-trailing-slash", "none")
    assert resolver.resolve_file("/about.html") == "/about.html"
    assert resolver.resolve_file("/blog") == "/blog/index.html"
    assert resolver.resolve_file("/nope") is None


def test_decode_path_segments_and_slashes() -> None:
    assert decode_path(b"/") == "/"
    assert decode_path(b"//about") == "/about"
    assert decode_path(b"/a//b///c/") == "/a/b/c/"
    assert decode_path(b"/sp%20ace/f.txt") == "/sp ace/f.txt"
    assert decode_path(b"/caf%C3%A9") == "/café"
    assert decode_path(b"/cafe%CC%81") == "/café"  # NFD request form -> NFC


@pytest.mark.parametrize(
    "raw",
    [
        b"/..",
        b"/a/../b",
        b"/%2e%2e/x",
        b"/.",
        b"/a/%2E/b",
        b"/a%2fb",
        b"/a%5cb",
        b"/a%00b",
        b"/a\\b",
        b"*",
    ],
)
def test_decode_path_unmatchable_segments(raw: bytes) -> None:
    assert decode_path(raw) is None


@pytest.mark.parametrize(
    "raw", [b"/%", b"/%A", b"/%zz", b"/%E0%A4%A", b"/%A0", b"/%c0%ae%c0%ae/x", b"/%ff"]
)
def test_decode_path_malformed_is_an_error(raw: bytes) -> None:
    with pytest.raises(MalformedPath):
        decode_path(raw)


def test_encode_path_round_trips() -> None:
    for path in ["/", "/about", "/sp ace/", "/café/x", "/[boop]"]:
        encoded = encode_path(path)
        assert encoded.startswith("/") and not encoded.startswith("//")
        assert decode_path(encoded.encode()) == path
