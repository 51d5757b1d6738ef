"""The console's files through Chalice's test client: headers, content types, what is refused,
and static guards on the code itself (no markup built from strings, nothing from elsewhere)."""

import re
from html.parser import HTMLParser

import pytest

from chalicelib import console

ASSETS = sorted(path.name for path in console.FOLDER.iterdir() if path.suffix in (".js", ".css"))
SCRIPTS = [name for name in ASSETS if name.endswith(".js")]


@pytest.fixture
def http(chalice_client):
    return chalice_client.http


class PageParts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_text += data.strip()


def csp_directives(header: str) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


def test_the_page_is_html_with_a_strict_content_security_policy(http):
    response = http.get("/console")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = csp_directives(response.headers["Content-Security-Policy"])
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_page_has_no_inline_script_style_or_handler(http):
    parts = PageParts()
    parts.feed(http.get("/console").body.decode())

    scripts = [attrs for tag, attrs in parts.tags if tag == "script"]
    assert scripts == [{"type": "module", "src": "console/app.js"}]
    assert parts.script_text == ""
    assert not [tag for tag, _ in parts.tags if tag == "style"]
    for tag, attrs in parts.tags:
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], tag
    # Relative links: behind API Gateway the page is /<stage>/console.
    sheets = [attrs["href"] for tag, attrs in parts.tags if attrs.get("rel") == "stylesheet"]
    assert sheets == ["console/app.css"]


@pytest.mark.parametrize("name", ASSETS)
def test_every_asset_is_served_with_its_content_type_and_the_same_headers(http, name):
    response = http.get(f"/console/{name}")

    assert response.status_code == 200
    expected = "text/javascript" if name.endswith(".js") else "text/css"
    assert response.headers["Content-Type"] == f"{expected}; charset=utf-8"
    assert response.body.decode() == (console.FOLDER / name).read_text(encoding="utf-8")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "name",
    ["nope.js", "index.html", "__init__.py", "app.py", "..%2Fapp.py", ".app.js", "APP.JS", "x.map"],
)
def test_anything_else_is_a_json_404(http, name):
    response = http.get(f"/console/{name}")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert b"NotFoundError" in response.body


@pytest.mark.parametrize("name", SCRIPTS)
def test_scripts_never_parse_strings_as_markup_nor_evaluate_code(name):
    source = (console.FOLDER / name).read_text(encoding="utf-8")
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert forbidden not in source, f"{name} uses {forbidden}"
    assert "new Function" not in source
    assert not re.search(r"setAttribute\(\s*[\"']style", source), name
    assert "console.log" not in source, f"{name} logs (a key could end up in a log)"


@pytest.mark.parametrize("name", SCRIPTS)
def test_scripts_import_only_the_consoles_own_modules(name):
    source = (console.FOLDER / name).read_text(encoding="utf-8")
    pattern = r"""^\s*(?:import|export)[^"']*from\s+["']([^"']+)["']"""
    for imported in re.findall(pattern, source, re.M):
        assert re.fullmatch(r"\./[a-z0-9_-]+\.js", imported), f"{name} imports {imported}"
        assert (console.FOLDER / imported[2:]).is_file(), f"{name} imports missing {imported}"
    assert not re.search(r"""(?:fetch|import)\(\s*["'`]https?:""", source), name
