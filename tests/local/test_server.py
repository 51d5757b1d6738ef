"""The local run end to end over real HTTP: a schedule fires by itself and stopping is clean."""

import json
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import boto3

from chalicelib.local.server import LocalHerald
from chalicelib.settings import get_settings
from tests.conftest import ROOT_KEY
from tests.local.waiting import wait_for


def call(herald: LocalHerald, method: str, path: str, body=None, key: str = ROOT_KEY):
    request = urllib.request.Request(
        herald.url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def schedule_names() -> set[str]:
    settings = get_settings()
    scheduler = boto3.client("scheduler", region_name=settings.region)
    found = scheduler.list_schedules(GroupName=settings.schedule_group)["Schedules"]
    return {summary["Name"] for summary in found}


def test_engagement_becomes_active_when_its_start_schedule_fires(herald):
    status, created = call(herald, "POST", "/v1/apps", {"name": "Shop"})
    assert status == 201, created
    admin_key, app_path = created["admin_key"], f"/v1/apps/{created['app_id']}"
    start = datetime.now(UTC) + timedelta(seconds=2)
    body = {
        "name": "Welcome",
        "variants": [{"key": "A", "message": {"layout": "modal", "title": "Hi"}}],
        "schedule": {
            "start_at": start.isoformat(timespec="seconds"),
            "end_at": (start + timedelta(days=1)).isoformat(timespec="seconds"),
        },
    }

    status, engagement = call(herald, "POST", app_path + "/engagements", body, admin_key)
    assert status == 201, engagement
    assert engagement["status"] == "scheduled"
    engagement_id = engagement["engagement_id"]
    # the stream function writes the schedules moments after the committed write (issue 9)
    wait_for(lambda: f"{engagement_id}-start" in schedule_names(), 5)

    path = f"{app_path}/engagements/{engagement_id}"
    wait_for(lambda: call(herald, "GET", path, key=admin_key)[1]["status"] == "active", 10)
    wait_for(lambda: f"{engagement_id}-start" not in schedule_names(), 5)
    assert f"{engagement_id}-end" in schedule_names()


def test_stop_ends_every_thread_and_frees_the_port(aws):
    harness = LocalHerald(port=0, root_key=ROOT_KEY, mock=False)
    harness.start()
    port = harness.port
    assert call(harness, "POST", "/v1/apps", {"name": "Shop"})[0] == 201

    harness.stop()

    assert not any(thread.is_alive() for thread in harness.threads)
    with socket.socket() as probe:
        # As an HTTP server binds: only a socket still listening on the port makes this fail.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()
