"""Behavioural audiences end to end: events through POST /events and the SQS consumer into the
subject's profile, read by the fetch and explained, at the boundaries of every operator."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.adapters.dynamo import DeliveryRecord, subject_key
from chalicelib.domain import profile
from tests.api.device_helpers import create_engagement, explain, live_engagement, register
from tests.pipeline.helpers import consume, consume_all, drain, event, post_events

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)  # day D; D - 1 starts at 2026-12-09T00:00Z


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def audience(api, shop, *conditions, mode="all") -> str:
    reply = api.post(
        shop.path + "/audiences",
        {"name": f"aud-{uuid.uuid4().hex}", "rules": {mode: list(conditions)}},
        key=shop.admin_key,
    )
    assert reply.status == 201, reply.body
    return reply.body["audience_id"]


def targeted(api, shop, name, *conditions) -> str:
    audience_id = audience(api, shop, *conditions)
    body = live_engagement(name, audience={"audience_ids": [audience_id]})
    return create_engagement(api, shop, body)


def custom(device_id, name, at, **fields):
    return event(device_id, "custom", at, name=name, **fields)


def send(api, shop, events):
    assert post_events(api, shop, events).status == 202
    assert consume_all() == []


def shown(api, shop, device_id) -> list[str]:
    reply = api.get(f"{shop.path}/devices/{device_id}/messages", X_Client_Key=shop.client_key)
    assert reply.status == 200, reply.body
    return [message["engagement_id"] for message in reply.body["messages"]]


def why(api, shop, device_id, engagement_id) -> dict:
    return explain(api, shop, device_id)[engagement_id]


def test_count_gte_counts_whole_utc_days_and_explains_its_numbers(api, shop):
    buyers = targeted(
        api,
        shop,
        "Buyers",
        {"event": "purchase", "op": "count_gte", "value": 3, "within_days": 2},
    )
    register(api, shop, "d-1")
    day_before = datetime(2026, 12, 9, tzinfo=UTC)
    send(
        api,
        shop,
        [
            custom("d-1", "purchase", day_before),  # the first second of the window
            custom("d-1", "purchase", NOW),
            custom("d-1", "purchase", day_before - timedelta(seconds=1)),  # one second before
            custom("d-1", "browse", NOW),
        ],
    )
    assert shown(api, shop, "d-1") == []
    explained = why(api, shop, "d-1", buyers)
    assert explained["reason"] == "not_in_audience"
    assert explained["detail"]["message"] == "purchase: 2 in the last 2 days, needs ≥ 3"
    (failure,) = explained["detail"]["failed"]
    assert failure["count"] == 2 and failure["condition"]["within_days"] == 2

    send(api, shop, [custom("d-1", "purchase", day_before + timedelta(hours=23, minutes=59))])
    assert shown(api, shop, "d-1") == [buyers]
    assert why(api, shop, "d-1", buyers)["eligible"] is True


def test_the_window_moves_with_the_clock(api, shop):
    buyers = targeted(
        api, shop, "Buyers", {"event": "purchase", "op": "count_gte", "value": 1, "within_days": 1}
    )
    register(api, shop, "d-1")
    send(api, shop, [custom("d-1", "purchase", NOW - timedelta(hours=11))])
    assert shown(api, shop, "d-1") == [buyers]
    with time_machine.travel(datetime(2026, 12, 11, 0, 0, tzinfo=UTC), tick=False):
        assert shown(api, shop, "d-1") == []  # a new UTC day: yesterday is out of 1 day
        assert why(api, shop, "d-1", buyers)["detail"]["message"] == (
            "purchase: 0 in the last 1 days, needs ≥ 1"
        )


def test_count_lt_holds_for_nothing_at_all(api, shop):
    newcomers = targeted(
        api,
        shop,
        "Newcomers",
        {"event": "purchase", "op": "count_lt", "value": 1, "within_days": 30},
    )
    register(api, shop, "d-new")
    assert shown(api, shop, "d-new") == [newcomers]  # no profile at all: 0 purchases
    send(api, shop, [custom("d-new", "purchase", NOW - timedelta(days=29))])
    assert shown(api, shop, "d-new") == []
    assert why(api, shop, "d-new", newcomers)["detail"]["message"] == (
        "purchase: 1 in the last 30 days, needs < 1"
    )


def test_a_redelivered_event_counts_once_in_the_profile(api, shop):
    buyers = targeted(
        api, shop, "Twice", {"event": "purchase", "op": "count_gte", "value": 2, "within_days": 7}
    )
    register(api, shop, "d-1")
    once = custom("d-1", "purchase", NOW - timedelta(hours=1))
    assert post_events(api, shop, [once]).status == 202
    assert post_events(api, shop, [once]).status == 202  # the app sent it again
    messages = drain()
    for _ in range(3):  # and SQS delivered every message three times
        assert consume(messages) == []
    assert shown(api, shop, "d-1") == []
    assert why(api, shop, "d-1", buyers)["detail"]["failed"][0]["count"] == 1
    send(api, shop, [custom("d-1", "purchase", NOW)])
    assert shown(api, shop, "d-1") == [buyers]


@pytest.mark.parametrize(
    ("op", "last", "holds"),
    [
        ("last_within_days", datetime(2026, 12, 4, 0, 0, tzinfo=UTC), True),  # D - 6, 00:00
        ("last_within_days", datetime(2026, 12, 3, 23, 59, 59, tzinfo=UTC), False),
        ("last_within_days", None, False),
        ("last_not_within_days", datetime(2026, 12, 3, 23, 59, 59, tzinfo=UTC), True),
        ("last_not_within_days", datetime(2026, 12, 4, 0, 0, tzinfo=UTC), False),
        ("last_not_within_days", None, True),
    ],
)
def test_recency_at_its_day_edge(api, shop, op, last, holds):
    engagement_id = targeted(api, shop, "Recency", {"event": "app_open", "op": op, "value": 7})
    register(api, shop, "d-1")
    if last is not None:
        send(api, shop, [custom("d-1", "app_open", last), custom("d-1", "app_open", last)])
    assert shown(api, shop, "d-1") == ([engagement_id] if holds else [])
    if not holds:
        message = why(api, shop, "d-1", engagement_id)["detail"]["message"]
        assert message.startswith("app_open: ")
        assert "the last 7 days (since 2026-12-04T00:00:00Z)" in message


def test_what_the_subject_did_with_another_engagement(api, shop):
    welcome = create_engagement(api, shop, live_engagement("Welcome", priority=1))
    conditions = {
        op: targeted(api, shop, f"After {op}", {"engagement": welcome, "op": op})
        for op in ("seen", "not_seen", "clicked", "dismissed")
    }
    register(api, shop, "d-1")
    assert set(shown(api, shop, "d-1")) == {welcome, conditions["not_seen"]}
    assert why(api, shop, "d-1", conditions["seen"])["detail"]["message"] == (
        f"{welcome}: not seen, needs seen"
    )
    at = NOW - timedelta(minutes=5)
    common = {"engagement_id": welcome, "variant": "A"}
    send(api, shop, [event("d-1", "impression", at, **common)])
    assert set(shown(api, shop, "d-1")) == {welcome, conditions["seen"]}
    assert why(api, shop, "d-1", conditions["clicked"])["detail"]["message"] == (
        f"{welcome}: seen, needs clicked"
    )
    send(api, shop, [event("d-1", "dismiss", at + timedelta(seconds=3), **common)])
    assert set(shown(api, shop, "d-1")) == {welcome, conditions["seen"], conditions["dismissed"]}


def test_the_profile_follows_the_user_across_devices(api, shop):
    buyers = targeted(
        api, shop, "Buyers", {"event": "purchase", "op": "count_gte", "value": 2, "within_days": 7}
    )
    register(api, shop, "phone", user_id="u-1")
    register(api, shop, "tablet", user_id="u-1")
    register(api, shop, "kiosk")
    send(
        api,
        shop,
        [
            custom("phone", "purchase", NOW - timedelta(hours=2)),
            custom("tablet", "purchase", NOW - timedelta(hours=1)),
            custom("kiosk", "purchase", NOW - timedelta(hours=1)),
        ],
    )
    assert shown(api, shop, "tablet") == [buyers]
    assert shown(api, shop, "phone") == [buyers]
    assert shown(api, shop, "kiosk") == []
    summary = explain_profile(api, shop, "phone")
    assert summary["events"]["purchase"]["count_30_days"] == 2
    assert summary["first_activity"] == (NOW - timedelta(hours=2)).timestamp()


def explain_profile(api, shop, device_id) -> dict:
    path = f"{shop.path}/devices/{device_id}/messages/explain"
    reply = api.get(path, key=shop.admin_key)
    assert reply.status == 200
    return reply.body["profile"]


def test_the_profile_stays_within_its_bounds(api, shop):
    register(api, shop, "d-1")
    pinned = targeted(
        api, shop, "Pinned", {"event": "ev-0", "op": "count_gte", "value": 1, "within_days": 90}
    )
    names = [f"ev-{n}" for n in range(profile.MAX_EVENT_NAMES + 10)]
    events = [
        custom("d-1", name, NOW - timedelta(days=29) + timedelta(minutes=index))
        for index, name in enumerate(names)
    ]
    for start in range(0, len(events), 100):
        send(api, shop, events[start : start + 100])
    stored = json.loads(DeliveryRecord.get(subject_key(shop.app_id, "device:d-1")).profile)
    kept = set(stored["events"])
    assert len(kept) == profile.MAX_EVENT_NAMES
    assert "ev-0" in kept  # the oldest, but an audience counts it
    assert set(names[-(profile.MAX_EVENT_NAMES - 1) :]) <= kept  # then the latest
    assert shown(api, shop, "d-1") == [pinned]
