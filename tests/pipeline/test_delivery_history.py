"""What the consumer writes to a subject's history is what the fetch reads: impressions posted as
events cap the next fetches, control-group fetches are counted once, conversions follow windows."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest
import time_machine
from botocore.client import BaseClient

from chalicelib.adapters.dynamo import DeliveryRecord, subject_key
from chalicelib.domain.assignment import assign
from chalicelib.settings import get_settings
from tests.api.device_helpers import (
    create_engagement,
    explain,
    fetch,
    live_engagement,
    register,
    seed_impressions,
    shown_ids,
)
from tests.pipeline.helpers import (
    consume_all,
    drain,
    event,
    metrics,
    post_events,
    queue_url,
    register_devices,
    variant,
)

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def running(name: str, **overrides) -> dict:
    window = {
        "start_at": (NOW - timedelta(days=3)).isoformat(),
        "end_at": (NOW + timedelta(days=5)).isoformat(),
    }
    return live_engagement(name, schedule=window, **overrides)


def impressions(api, shop, device_id: str, eid: str, times: list[datetime]) -> None:
    shown = {"engagement_id": eid, "variant": "A"}
    events = register_devices(
        api, shop, [event(device_id, "impression", at, **shown) for at in times]
    )
    assert post_events(api, shop, events).status == 202
    assert consume_all() == []


def test_impressions_through_the_consumer_cap_the_next_fetch(api, shop):
    eid = create_engagement(api, shop, running("Once", frequency={"max_impressions": 1}))
    assert shown_ids(api, shop, "d-1") == [eid]

    impressions(api, shop, "d-1", eid, [NOW - timedelta(seconds=5)])

    assert shown_ids(api, shop, "d-1") == []
    assert explain(api, shop, "d-1")[eid]["reason"] == "capped_total"
    assert shown_ids(api, shop, "d-2") == [eid]


def test_the_interval_and_daily_caps_read_what_the_consumer_wrote(api, shop):
    frequency = {"max_per_day": 2, "min_interval_seconds": 3600}
    eid = create_engagement(api, shop, running("Twice a day", frequency=frequency))
    register(api, shop, "paris", timezone="Europe/Paris")

    impressions(api, shop, "paris", eid, [NOW - timedelta(minutes=10)])
    assert explain(api, shop, "paris")[eid]["reason"] == "capped_interval"

    impressions(api, shop, "paris", eid, [NOW - timedelta(hours=3)])
    decision = explain(api, shop, "paris")[eid]
    assert decision["reason"] == "capped_daily"
    assert decision["detail"]["impressions_today"] == 2
    # Paris's day ends at 23:00 UTC
    with time_machine.travel(datetime(2026, 12, 2, 23, 1, tzinfo=UTC), tick=False):
        assert shown_ids(api, shop, "paris") == [eid]


def test_caps_follow_the_user_across_devices(api, shop):
    eid = create_engagement(api, shop, running("Once", frequency={"max_impressions": 1}))
    register(api, shop, "old-phone", user_id="u-1")
    register(api, shop, "new-phone", user_id="u-1")

    impressions(api, shop, "old-phone", eid, [NOW - timedelta(days=1)])

    assert shown_ids(api, shop, "new-phone") == []
    assert shown_ids(api, shop, "other-phone") == [eid]


def test_the_history_written_is_the_format_seed_impressions_writes(api, shop):
    frequency = {"max_impressions": 5, "max_per_day": 2, "min_interval_seconds": 600}
    eid = create_engagement(api, shop, running("Capped", frequency=frequency))
    times = [NOW - timedelta(days=2, hours=5), NOW - timedelta(hours=1), NOW - timedelta(minutes=7)]
    seed_impressions(shop.app_id, "device:seeded", eid, times)

    impressions(api, shop, "posted", eid, times)

    def entry(subject: str) -> dict:
        record = DeliveryRecord.get(subject_key(shop.app_id, subject), consistent_read=True)
        return record.history.as_dict()[eid]

    seeded, posted = entry("device:seeded"), entry("device:posted")
    assert posted["total"] == seeded["total"] == 3
    assert posted["last"] == seeded["last"]
    # the consumer keeps the quarter hours of the last two days only
    two_days_ago = (NOW - timedelta(days=2)).timestamp() // 900
    recent = {bucket: n for bucket, n in seeded["buckets"].items() if int(bucket) >= two_days_ago}
    assert posted["buckets"] == recent
    assert len(recent) == 2
    assert posted["variant"] == "A"
    decisions = explain(api, shop, "seeded")[eid], explain(api, shop, "posted")[eid]
    assert decisions[0] == decisions[1]
    assert decisions[0]["reason"] == "capped_daily"


def in_control(eid: str, device_id: str) -> bool:
    return assign(eid, f"device:{device_id}", 100, 50, (("A", 100),)).in_control


def test_control_group_members_are_counted_once_as_assigned_when_they_fetch(api, shop):
    body = running("Held out", control_percent=50, conversion={"event": "purchase"})
    eid = create_engagement(api, shop, body)
    devices = [f"d-{n}" for n in range(12)]
    held_out = [device for device in devices if in_control(eid, device)]
    assert 0 < len(held_out) < len(devices)
    for device in devices:
        register(api, shop, device)

    for _ in range(2):
        for device in devices:
            fetch(api, shop, device)
    assert consume_all() == []
    for device in devices:
        fetch(api, shop, device)

    assert drain() == []  # their histories record it now: nothing more is sent
    assert metrics(api, shop, eid)["control"]["assigned"] == len(held_out)


def test_a_control_fetch_still_costs_two_dynamodb_requests(api, shop, monkeypatch):
    eid = create_engagement(api, shop, running("Held out", control_percent=50))
    device = next(f"d-{n}" for n in range(100) if in_control(eid, f"d-{n}"))
    register(api, shop, device)
    fetch(api, shop, device)  # the first fetch loads the catalog
    drain()
    calls = []
    original = BaseClient._make_api_call

    def counted(client, operation, params):
        calls.append((client.meta.service_model.service_name, operation))
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    assert fetch(api, shop, device)["messages"] == []

    assert [call for call in calls if call[0] == "dynamodb"] == [
        ("dynamodb", "BatchGetItem"),
        ("dynamodb", "GetItem"),
    ]
    assert ("sqs", "SendMessageBatch") in calls


def test_a_fetch_works_when_the_queue_is_unreachable(api, shop):
    eid = create_engagement(api, shop, running("Held out", control_percent=50))
    device = next(f"d-{n}" for n in range(100) if in_control(eid, f"d-{n}"))
    boto3.client("sqs", region_name=get_settings().region).delete_queue(QueueUrl=queue_url())

    assert fetch(api, shop, device)["messages"] == []


def test_conversions_count_once_within_the_window_after_an_exposure(api, shop):
    body = running(
        "Converting",
        control_percent=50,
        conversion={"event": "purchase", "window_hours": 24},
    )
    eid = create_engagement(api, shop, body)
    shown = [f"d-{n}" for n in range(40) if not in_control(eid, f"d-{n}")][:4]
    held_out = [f"d-{n}" for n in range(40) if in_control(eid, f"d-{n}")][:3]
    for device in shown + held_out:
        register(api, shop, device)
    for device in held_out:
        fetch(api, shop, device)  # exposure of the control group: now
    seen_at = NOW - timedelta(hours=30)
    events = [
        event(device, "impression", seen_at, engagement_id=eid, variant="A") for device in shown
    ]

    def purchase(device: str, at: datetime) -> dict:
        return event(device, "custom", at, name="purchase")

    events += [
        purchase(shown[0], seen_at + timedelta(hours=23)),  # converts
        purchase(shown[0], seen_at + timedelta(hours=24)),  # converts again: still once
        purchase(shown[1], seen_at + timedelta(hours=25)),  # too late
        purchase(shown[2], seen_at - timedelta(minutes=1)),  # before seeing it
        purchase(held_out[0], NOW + timedelta(hours=1)),  # control, within the window
        purchase(held_out[1], NOW - timedelta(hours=1)),  # control, before its fetch
        event(shown[3], "custom", seen_at + timedelta(hours=1), name="add_to_cart"),
    ]
    assert post_events(api, shop, events).status == 202
    assert consume_all() == []

    report = metrics(api, shop, eid)
    assert variant(report, "A")["conversions"] == 1
    assert variant(report, "A")["unique_devices"] == 4
    assert report["control"] == {"assigned": 3, "conversions": 1, "conversion_rate": 1 / 3}
