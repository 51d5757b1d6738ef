"""Browser fixtures shared by the console's and the web SDK's tests: Debian's Chromium driven by
Playwright against the local run (LocalHerald).

The browser is the `chromium` Debian package at /usr/bin/chromium (or $HERALD_CHROMIUM), never a
build Playwright downloads: when it is missing, the session fixture installs the package with
apt-get (CI runs as root with Debian's mirrors reachable). Screenshots of each step go to
build/screenshots/ (or $HERALD_SCREENSHOTS). A conftest imports the fixtures it uses.
"""

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from chalicelib.local.server import LocalHerald
from tests.conftest import ROOT_KEY, machine_lock

PROJECT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("HERALD_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("HERALD_SCREENSHOTS", PROJECT / "build" / "screenshots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEZONE = "Europe/Paris"


def _install_chromium() -> None:
    """Debian's chromium package (and a font), with apt-get: never a downloaded browser build."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package "
            "(sudo apt-get install chromium) or set HERALD_CHROMIUM"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium", "fonts-dejavu-core"],
        check=True,
        env=env,
        timeout=1200,
    )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        # pytest-xdist's workers may all get here at once: one installs, the others wait
        with machine_lock("chromium"):
            if not os.path.exists(CHROMIUM):
                _install_chromium()
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"the chromium package did not install {CHROMIUM}")
    return CHROMIUM


_RUNNING: dict = {}  # one Playwright and one Chromium per test process


@pytest.fixture(scope="session")
def browser(chromium_path):
    """Each conftest that imports this fixture gets its own session fixture, but Playwright's
    sync API runs once per process: the first one starts Chromium, the others share it."""
    from playwright.sync_api import sync_playwright

    if "browser" in _RUNNING:
        yield _RUNNING["browser"]
        return
    playwright = sync_playwright().start()
    launched = playwright.chromium.launch(
        executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
    )
    _RUNNING["browser"] = launched
    yield launched
    _RUNNING.clear()
    launched.close()
    playwright.stop()


@pytest.fixture(scope="module")
def herald():
    """The whole API over HTTP with its own moto, local scheduler and events consumer."""
    harness = LocalHerald(port=0, root_key=ROOT_KEY, mock=True, visibility_timeout=1)
    harness.start()
    yield harness
    harness.stop()


class Http:
    """The API over real HTTP, as a mobile app or an operator calls it."""

    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, body=None, key=None, client=None, if_match=None):
        headers = {"Content-Type": "application/json"}
        if if_match is not None:
            headers["If-Match"] = str(if_match)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if client:
            headers["X-Client-Key"] = client
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def http(herald) -> Http:
    return Http(herald.url)


class Shots:
    """Numbered screenshots of one test: build/screenshots/<test>/<nn>-<step>-<size>.png."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)

    def take(self, page, step: str) -> Path:
        self.count += 1
        size = "phone" if page.viewport_size["width"] < 600 else "desktop"
        path = self.folder / f"{self.count:02d}-{step}-{size}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request) -> Shots:
    return Shots(SCREENSHOTS / request.node.name.replace("[", "-").rstrip("]"))


@pytest.fixture
def new_page(browser, herald):
    """Opens a page (desktop or phone size, Paris time) that fails the test on a script error,
    a CSP violation or a JavaScript dialog."""
    contexts = []
    problems: list[str] = []

    def open_page(viewport=DESKTOP):
        context = browser.new_context(
            viewport=viewport, timezone_id=TIMEZONE, locale="en-GB", reduced_motion="reduce"
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on(
            "dialog",
            lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()),
        )
        page.on(
            "console",
            lambda message: (
                problems.append(f"console: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert problems == []
