"""Browser tests of the console: the fixtures are shared with the web SDK's (tests/browser.py)."""

from tests.browser import (  # noqa: F401 (fixtures)
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    TIMEZONE,
    Http,
    Shots,
    browser,
    chromium_path,
    herald,
    http,
    new_page,
    shots,
)
