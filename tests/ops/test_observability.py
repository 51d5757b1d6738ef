"""What an operator reads: one JSON log line and one EMF blob per fetch, a batch's counts and
failures, a schedule firing's outcome, and never a key."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib import observability
from chalicelib.local.stream import scheduled_event
from tests.api.device_helpers import create_engagement, live_engagement
from tests.conftest import ROOT_KEY, schedules_by_name
from tests.pipeline.helpers import (
    consume,
    drain,
    event,
    now,
    poison,
    post_events,
    register_devices,
)

FETCH_ROUTE = "GET /v1/apps/{app_id}/devices/{device_id}/messages"
TRIGGERS_ROUTE = "GET /v1/apps/{app_id}/triggers"


def lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def split(records: list[dict]) -> tuple[list[dict], list[dict]]:
    """(log lines, EMF blobs)."""
    blobs = [r for r in records if "_aws" in r]
    return [r for r in records if "_aws" not in r], blobs


def metrics_of(blob: dict) -> tuple[list[str], dict[str, float], dict[str, str]]:
    """(dimension names, {metric: value}, {dimension: value}) of one EMF blob."""
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Herald"
    (dimensions,) = directive["Dimensions"]
    values = {m["Name"]: sum(blob[m["Name"]]) for m in directive["Metrics"]}
    return dimensions, values, {name: blob[name] for name in dimensions}


def test_a_fetch_writes_one_log_line_and_one_metrics_blob(api, shop, capsys):
    create_engagement(api, shop, live_engagement("Spring"))
    capsys.readouterr()
    reply = api.get(f"{shop.path}/devices/d-1/messages", X_Client_Key=shop.client_key)
    assert reply.status == 200
    logs, blobs = split(lines(capsys.readouterr().out))

    (line,) = logs
    assert line["level"] == "INFO"
    assert line["service"] == "herald"
    assert line["route"] == FETCH_ROUTE
    assert line["app_id"] == shop.app_id
    assert line["status"] == 200
    assert line["latency_ms"] >= 0
    assert line["request_id"]
    assert line["counts"] == {"Fetches": 1, "MessagesShown": 1}
    (blob,) = blobs
    dimensions, values, dimension_values = metrics_of(blob)
    assert sorted(dimensions) == ["route", "stage"]
    assert values == {"Fetches": 1, "MessagesShown": 1}
    assert dimension_values == {"stage": "dev", "route": FETCH_ROUTE}


def test_a_refused_request_logs_its_status_and_error_code(api, shop, capsys):
    capsys.readouterr()
    reply = api.get(f"{shop.path}/devices/d-1/messages", X_Client_Key="hck_wrong")
    assert reply.status == 401
    logs, blobs = split(lines(capsys.readouterr().out))
    (line,) = logs
    assert (line["status"], line["error"], line["level"]) == (401, reply.body["Code"], "INFO")
    assert blobs == []  # nothing was served


def test_a_batch_logs_its_id_counts_and_failures(api, shop, capsys):
    eid = create_engagement(api, shop, live_engagement("Spring"))
    at = now()
    events = [
        event("d-1", "impression", at, engagement_id=eid, variant="A"),
        event("d-2", "impression", at, engagement_id=eid, variant="A"),
        event("d-3", "impression", at, engagement_id="eng-gone", variant="A"),
    ]
    assert post_events(api, shop, register_devices(api, shop, events)).status == 202
    batch = [*drain(), poison()]
    capsys.readouterr()
    failed = consume(batch)
    assert failed == [batch[-1].message_id]
    records = lines(capsys.readouterr().out)
    logs, blobs = split(records)

    (summary,) = [line for line in logs if line.get("kind") == "batch"]
    assert summary["messages"] == 2
    assert summary["failed"] == 1
    assert summary["failed_message_ids"] == failed
    assert summary["counts"] == {
        "EventsCounted": 2,
        "EventsRejected.unknown_engagement": 1,
        "EventsRejected.malformed_message": 1,
        "ConsumerBatchFailures": 1,
    }
    assert "batch_id" in summary
    assert all(line["service"] == "herald" for line in logs)  # the services' warnings: JSON too
    found = {}
    for blob in blobs:
        _dimensions, values, dimension_values = metrics_of(blob)
        for name, value in values.items():
            found[(name, tuple(sorted(dimension_values.items())))] = value
    stage = ("stage", "dev")
    assert found == {
        ("EventsCounted", (stage,)): 2,
        ("ConsumerBatchFailures", (stage,)): 1,
        ("EventsRejected", (("reason", "malformed_message"), stage)): 1,
        ("EventsRejected", (("reason", "unknown_engagement"), stage)): 1,
    }


def test_a_schedule_firing_logs_and_counts_its_outcome(api, shop, chalice_client, capsys):
    body = live_engagement("Later")
    body["schedule"]["start_at"] = (now() + timedelta(hours=1)).isoformat()
    eid = create_engagement(api, shop, body)
    firing = json.loads(schedules_by_name()[f"{eid}-start"]["Target"]["Input"])
    capsys.readouterr()
    assert chalice_client.lambda_.invoke("apply_transition", firing).payload["outcome"] == (
        "unchanged"
    )
    chalice_client.lambda_.invoke("apply_transition", {"app_id": 3})
    logs, blobs = split(lines(capsys.readouterr().out))
    assert [(line["kind"], line["outcome"]) for line in logs] == [
        ("schedule", "unchanged"),
        ("schedule", "rejected"),
    ]
    assert logs[0]["engagement_id"] == eid and logs[0]["engagement_status"] == "scheduled"
    assert "app_id" not in logs[1]  # not a string: not logged
    outcomes = [metrics_of(blob)[2]["outcome"] for blob in blobs]
    assert outcomes == ["unchanged", "rejected"]


def test_a_triggers_sync_counts_the_triggers_it_returned(api, shop, capsys):
    create_engagement(api, shop, live_engagement("Spring"))
    create_engagement(api, shop, live_engagement("Cart", trigger={"event": "checkout"}))
    capsys.readouterr()
    reply = api.get(f"{shop.path}/triggers", X_Client_Key=shop.client_key)
    assert reply.status == 200 and len(reply.body["triggers"]) == 2
    logs, blobs = split(lines(capsys.readouterr().out))
    (line,) = logs
    assert line["route"] == TRIGGERS_ROUTE and line["counts"] == {"TriggersSynced": 2}
    (blob,) = blobs
    _dimensions, values, dimension_values = metrics_of(blob)
    assert values == {"TriggersSynced": 2}
    assert dimension_values == {"stage": "dev", "route": TRIGGERS_ROUTE}


def test_a_sweep_counts_what_it_repaired(api, shop, chalice_client, capsys):
    body = live_engagement("Soon")
    body["schedule"]["start_at"] = (now() + timedelta(minutes=10)).isoformat()
    create_engagement(api, shop, body)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):  # its firing never came
        capsys.readouterr()
        for _run in range(2):
            chalice_client.lambda_.invoke("sweep_schedules", scheduled_event())
        logs, blobs = split(lines(capsys.readouterr().out))
    assert [(line["kind"], line["repaired_statuses"]) for line in logs] == [
        ("sweep", 1),
        ("sweep", 0),
    ]
    assert [line["counts"] for line in logs] == [{"SweepRepairs": 1}, {"SweepRepairs": 0}]
    found = [metrics_of(blob) for blob in blobs]
    assert [(values, dimension_values) for _names, values, dimension_values in found] == [
        ({"SweepRepairs": 1}, {"stage": "dev"}),
        ({"SweepRepairs": 0}, {"stage": "dev"}),  # a quiet run is a data point too
    ]


def test_no_key_or_token_is_ever_written(api, capfd):
    """Every kind of request, right and wrong keys, through the log and the metrics."""
    created = api.post("/v1/apps", {"name": "Shop"}, key=ROOT_KEY).body
    admin, client, app_id = created["admin_key"], created["client_key"], created["app_id"]
    wrong = f"hck_{uuid.uuid4().hex}"
    path = f"/v1/apps/{app_id}"
    api.get(path, key=admin)
    api.get(path, key=wrong)
    api.get(path, key=client)
    api.post(path + "/keys/rotate", key=admin)
    api.post("/v1/apps", {"name": "x"}, key=wrong)
    api.get(f"{path}/devices/d/messages", X_Client_Key=client)
    api.get(f"{path}/devices/d/messages", X_Client_Key=wrong)
    api.post(
        f"{path}/events", {"events": [event("d", "custom", now(), name="x")]}, X_Client_Key=wrong
    )
    api.post(f"{path}/events", {"events": [{"token": wrong}]}, X_Client_Key=client)
    consume(drain())
    written = capfd.readouterr()  # file descriptors: whatever writes them, Python or not
    output = written.out + written.err
    assert output.count('"route"') >= 9  # the requests were logged...
    for secret in (ROOT_KEY, admin, client, wrong):
        assert secret not in output  # ...without a key
    assert "Bearer" not in output


def test_a_metric_takes_exactly_its_dimensions():
    with observability.invocation("test", "test"), pytest.raises(ValueError, match="reason"):
        observability.count(observability.EVENTS_REJECTED)
