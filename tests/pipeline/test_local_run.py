"""The local run end to end over real HTTP: events posted to the API show in the metrics within
five seconds, counted by the local queue consumer."""

import json
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

from chalicelib.local.server import LocalHerald
from tests.conftest import ROOT_KEY
from tests.local.waiting import wait_for


def call(herald: LocalHerald, method: str, path: str, body=None, **headers):
    request = urllib.request.Request(
        herald.url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_posted_events_show_in_the_metrics_within_five_seconds(herald):
    root = {"Authorization": f"Bearer {ROOT_KEY}"}
    status, created = call(herald, "POST", "/v1/apps", {"name": "Shop"}, **root)
    assert status == 201, created
    admin = {"Authorization": f"Bearer {created['admin_key']}"}
    client = {"X-Client-Key": created["client_key"]}
    app_path = f"/v1/apps/{created['app_id']}"
    now = datetime.now(UTC).replace(microsecond=0)
    engagement = {
        "name": "Welcome",
        "variants": [{"key": "A", "message": {"layout": "modal", "title": "Hi"}}],
        "schedule": {
            "start_at": (now - timedelta(hours=1)).isoformat(),
            "end_at": (now + timedelta(days=1)).isoformat(),
        },
    }
    status, made = call(herald, "POST", app_path + "/engagements", engagement, **admin)
    assert status == 201, made
    eid = made["engagement_id"]
    shown = {"engagement_id": eid, "variant": "A", "timestamp": now.isoformat()}
    events = [
        {"id": uuid.uuid4().hex, "device_id": f"d-{n}", "type": kind, **shown}
        for n in range(3)
        for kind in ("impression", "dismiss")
    ]

    for n in range(3):
        status, _ = call(herald, "PUT", f"{app_path}/devices/d-{n}", {}, **client)
        assert status == 201
    status, accepted = call(herald, "POST", app_path + "/events", {"events": events}, **client)
    assert (status, accepted) == (202, {"accepted": 6})

    def counted():
        status, report = call(herald, "GET", f"{app_path}/engagements/{eid}/metrics", **admin)
        assert status == 200, report
        [a] = report["variants"]
        return (a["impressions"], a["unique_devices"], a["dismissals"]) == (3, 3, 3)

    wait_for(counted, 5)
