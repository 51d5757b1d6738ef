"""The web console's static files (index.html, ES modules, CSS) and the headers they go with.

Everything the console runs is in this folder, written for Herald: no third-party front-end code,
nothing loaded from another origin. Chalice packages `chalicelib/`, so the files ship with the
Lambda function and app.py serves them at `/console` and `/console/<name>`.

The Content-Security-Policy allows scripts and styles from this origin only (no inline script or
style attribute, no eval), API calls to this origin only, and images from this origin or any https
URL (the live preview shows a message's own `image_url`).
"""

import re
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
INDEX = "index.html"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# A flat folder: a name is a file of this folder with a served extension, nothing else.
_ASSET = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.(js|css|svg)$")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _read(name: str) -> tuple[str, str] | None:
    path = FOLDER / name
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8"), CONTENT_TYPES[path.suffix]


def page() -> tuple[str, str]:
    """(text, content type) of the console's one HTML page."""
    found = _read(INDEX)
    assert found is not None, f"{INDEX} ships with the console"
    return found


def asset(name: str) -> tuple[str, str] | None:
    """(text, content type) of the script, style sheet or image `name`, or None when there is no
    such asset (the page itself is served at /console only: its links are relative to it)."""
    if not _ASSET.match(name):
        return None
    return _read(name)


def headers(content_type: str) -> dict[str, str]:
    # The HTML must be fetched afresh (it names the modules); modules are revalidated cheaply.
    cache = "no-store" if content_type.startswith("text/html") else "no-cache"
    return {"Content-Type": content_type, "Cache-Control": cache, **SECURITY_HEADERS}
