"""The web SDK in Chromium against a local run whose trigger lists last TRIGGER_SECONDS (so a
paused engagement drops out of a page's list within the test), with the shared browser fixtures."""

import os

import pytest

from chalicelib.local.server import LocalHerald
from tests.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PHONE,
    Http,
    browser,
    chromium_path,
    http,
    new_page,
    shots,
)
from tests.conftest import ROOT_KEY

TRIGGER_SECONDS = 3


@pytest.fixture(scope="module")
def herald():
    saved = os.environ.get("HERALD_FETCH_INTERVAL_SECONDS")
    os.environ["HERALD_FETCH_INTERVAL_SECONDS"] = str(TRIGGER_SECONDS)
    harness = LocalHerald(port=0, root_key=ROOT_KEY, mock=True, visibility_timeout=1)
    harness.start()
    yield harness
    harness.stop()
    if saved is None:
        os.environ.pop("HERALD_FETCH_INTERVAL_SECONDS", None)
    else:
        os.environ["HERALD_FETCH_INTERVAL_SECONDS"] = saved
