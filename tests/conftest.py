"""Shared fixtures: moto for every AWS call, the Chalice test client, and a small HTTP helper."""

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib.domain import keys
from chalicelib.local.one_at_a_time import moto_one_request_at_a_time
from chalicelib.local.resources import create_all
from chalicelib.local.server import LocalHerald
from chalicelib.local.stream import StreamFeeder, stream_sources
from chalicelib.settings import get_settings

ROOT_KEY = keys.new_root_key()


@contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """One holder at a time across pytest-xdist's workers: for what they share on disk
    (node_modules, .chalice/deployments, the Chromium install)."""
    with open(os.path.join(tempfile.gettempdir(), f"herald-{name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "HERALD_STAGE": "dev",
    "HERALD_ROOT_KEY_HASH": keys.hash_key(ROOT_KEY),
}


def use_test_environment(monkeypatch) -> None:
    """Fake credentials and the dev stage's names, so no test can reach a real AWS account."""
    for name, value in TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch):
    use_test_environment(monkeypatch)


@pytest.fixture
def aws():
    with mock_aws():
        create_all(get_settings())
        yield


@pytest.fixture
def herald(aws):
    """The whole local run (HTTP server, scheduler, queue consumer) inside this test's moto."""
    harness = LocalHerald(port=0, root_key=ROOT_KEY, mock=False)
    harness.start()
    yield harness
    harness.stop()


@pytest.fixture
def like_dynamodb():
    """Concurrent requests to moto served one at a time (DynamoDB is atomic, moto is not),
    each answered a few milliseconds later so that races between threads still happen."""
    with moto_one_request_at_a_time(latency=0.003):
        yield


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict


class Api:
    """Sends JSON through Chalice's test client, the way a mobile app or an operator would."""

    def __init__(self, client: Client, after=None):
        self._client = client
        self._after = after  # called after every request (the stream feeder's poll)

    def call(self, method: str, path: str, body: Any = None, key: str | None = None, **headers):
        sent = {"Content-Type": "application/json"}
        if key:
            sent["Authorization"] = f"Bearer {key}"
        sent.update({name.replace("_", "-"): value for name, value in headers.items()})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        response = getattr(self._client.http, method.lower())(path, headers=sent, body=body or b"")
        text = response.body.decode() if response.body else ""
        if self._after is not None:
            self._after()
        return Reply(response.status_code, json.loads(text) if text else None, response.headers)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.call("PUT", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.call("PATCH", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def chalice_client(aws):
    with Client(app) as client:
        yield client


@pytest.fixture
def stream(aws):
    """The engagements stream, fed to the stream function as Lambda would (StreamFeeder)."""
    [source] = stream_sources(app)
    return StreamFeeder(app, source, get_settings())


@pytest.fixture
def api(chalice_client, stream):
    """HTTP through Chalice's test client; after each request the stream function gets the
    stream's new records, as it would within moments on AWS."""
    return Api(chalice_client, after=lambda: stream.drain(attempts=3))


@dataclass
class TenantApp:
    app_id: str
    admin_key: str
    client_key: str

    @property
    def path(self) -> str:
        return f"/v1/apps/{self.app_id}"


def make_app(api: Api, name: str = "Shop") -> TenantApp:
    reply = api.post("/v1/apps", {"name": name}, key=ROOT_KEY)
    assert reply.status == 201, reply.body
    return TenantApp(reply.body["app_id"], reply.body["admin_key"], reply.body["client_key"])


@pytest.fixture
def shop(api) -> TenantApp:
    return make_app(api, "Shop")


@pytest.fixture
def other_shop(api) -> TenantApp:
    return make_app(api, "Other shop")


def store_snapshot() -> dict:
    """Every item of every table and every schedule: to prove a request changed nothing."""
    settings = get_settings()
    dynamodb = boto3.client("dynamodb", region_name=settings.region)
    snapshot = {}
    for table in settings.tables.values():
        items = dynamodb.scan(TableName=table)["Items"]
        snapshot[table] = sorted(json.dumps(item, sort_keys=True) for item in items)
    snapshot["schedules"] = sorted(
        json.dumps(schedule, sort_keys=True, default=str)
        for schedule in schedules_by_name().values()
    )
    return snapshot


def schedules_by_name() -> dict[str, dict]:
    """Every schedule of the stage's group, as get_schedule describes it."""
    settings = get_settings()
    scheduler = boto3.client("scheduler", region_name=settings.region)
    found = scheduler.list_schedules(GroupName=settings.schedule_group)["Schedules"]
    described = {}
    for summary in found:
        schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=settings.schedule_group)
        schedule.pop("ResponseMetadata", None)
        described[summary["Name"]] = schedule
    return described


def pytest_collection_modifyitems(items):
    """Groups for pytest-xdist (`make test` runs `--dist loadgroup`): a module's tests stay on
    one worker, so its fixtures (a local server, `npm ci` into a shared directory) run once; the
    deployment tests, which share `.chalice/` and the vendored packages, all run on one."""
    for item in items:
        path = item.nodeid.split("::")[0]
        group = "deploy" if path.startswith("tests/deploy/") else path
        item.add_marker(pytest.mark.xdist_group(group))
