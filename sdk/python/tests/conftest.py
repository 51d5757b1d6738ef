"""The SDK's tests run against a real local Herald: `make run` (HTTP server, local scheduler
and events consumer over moto) in its own process, started once; the tests that reach into
moto (to take the events queue away) start the same harness in this process instead.

The SDK itself never imports the server.
"""

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from herald_sdk import AppCreated, DeviceClient, Herald
from herald_sdk.cli.main import app as cli_app
from typer.testing import CliRunner

from chalicelib.local.server import LocalHerald

ROOT_KEY = "herald_root_" + secrets.token_hex(32)
REPO = Path(__file__).resolve().parents[3]


@dataclass
class Served:
    url: str


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """`make run` in its own process, as a user runs it (its logs stay out of the command's
    output), shared by the SDK's tests; each test makes its own app."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("herald") / "server.log"
    env = {**os.environ, "HERALD_PORT": str(port), "HERALD_ROOT_KEY": ROOT_KEY}
    env.pop("HERALD_ROOT_KEY_HASH", None)
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def ready():
        if process.poll() is not None:
            raise AssertionError(f"the local Herald exited: {log.read_text()[-2000:]}")
        try:
            return httpx.get(url + "/v1/openapi.json", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, 90, every=0.2)
        yield Served(url)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def in_process_server():
    """The same harness inside this process, for tests that reach into its moto."""
    harness = LocalHerald(port=0, root_key=ROOT_KEY, mock=True, visibility_timeout=1)
    harness.start()
    yield harness
    harness.stop()


@dataclass
class Shop:
    created: AppCreated
    admin: Herald
    device: DeviceClient
    url: str

    @property
    def app_id(self) -> str:
        return self.created.app_id


@pytest.fixture
def root(server):
    with Herald(server.url, root_key=ROOT_KEY) as client:
        yield client


@pytest.fixture
def shop(server, root):
    """A fresh app, with a client for its admin key and one for its client key."""
    created = root.create_app(f"Shop {secrets.token_hex(3)}")
    admin = Herald(server.url, admin_key=created.admin_key)
    device = DeviceClient(server.url, created.client_key)
    yield Shop(created, admin, device, server.url)
    admin.close()
    device.close()


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def herald_cli(server, tmp_path, monkeypatch):
    """Runs `herald ARGS` in-process, with no settings but those the test gives (env or
    flags), and a profile file of its own."""
    for name in (
        "HERALD_URL",
        "HERALD_ADMIN_KEY",
        "HERALD_ROOT_KEY",
        "HERALD_CLIENT_KEY",
        "HERALD_APP_ID",
        "HERALD_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HERALD_CONFIG", str(tmp_path / "herald.toml"))
    monkeypatch.setenv("COLUMNS", "160")

    def run(*args: str, input: str | None = None, **env: str) -> Ran:
        result = CliRunner().invoke(cli_app, list(args), input=input, env=env or None)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Ran(result.exit_code, result.stdout, result.stderr)

    return run


def wait_for(condition: Callable[[], object], seconds: float, every: float = 0.1):
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds} s")
        time.sleep(every)


def iso(moment) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def engagement_spec(name: str = "Spring sale", running: bool = True, **changes) -> dict:
    """A valid A/B engagement (with a button), live now unless running=False (starts in a
    day)."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=1) if running else now + timedelta(days=1)

    def variant(key: str, title: str) -> dict:
        button = {"id": "buy", "label": "Shop", "action": {"type": "deep_link", "target": "s://"}}
        return {
            "key": key,
            "weight": 50,
            "message": {"layout": "modal", "title": title, "buttons": [button]},
        }

    spec = {
        "name": name,
        "ab_test": True,
        "variants": [variant("A", "Spring sale"), variant("B", "Your spring treat")],
        "schedule": {"start_at": iso(start), "end_at": iso(now + timedelta(days=7))},
    }
    spec.update(changes)
    return spec
