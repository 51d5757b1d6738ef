"""The demo page served at /demo: a small shop that uses the web SDK from /sdk/herald.js with
the app named in its URL (`/demo?app=<app id>&key=<client key>`, or a form asks for them), so a
newcomer sees their engagement's message in a browser within a minute of creating it.

Like the console, it is plain files of this folder under a strict Content-Security-Policy; the
page talks to this Herald only (same origin), images may come from any https URL.
"""

import re
from pathlib import Path

from chalicelib.console import CONTENT_TYPES, SECURITY_HEADERS

FOLDER = Path(__file__).resolve().parent
_ASSET = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.(js|css)$")


def _read(name: str) -> tuple[str, str] | None:
    path = FOLDER / name
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8"), CONTENT_TYPES[path.suffix]


def page() -> tuple[str, str] | None:
    return _read("index.html")


def asset(name: str) -> tuple[str, str] | None:
    return _read(name) if _ASSET.match(name) else None


def headers(content_type: str) -> dict[str, str]:
    return {"Content-Type": content_type, "Cache-Control": "no-cache", **SECURITY_HEADERS}
