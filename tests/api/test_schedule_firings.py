"""The schedule target, invoked as EventBridge Scheduler would, the clock moved by time-machine.

Schedules fire late, twice, out of order, after a reschedule or after a delete: every case must
leave the engagement in the status its window gives, and never revive or corrupt it.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.conftest import schedules_by_name, store_snapshot

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
START = NOW + timedelta(hours=1)
END = NOW + timedelta(days=7)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def create(api, shop, start=START, end=END, name="Sale"):
    body = {
        "name": name,
        "variants": [{"key": "A", "message": {"layout": "modal", "title": "Sale"}}],
        "schedule": {"start_at": start.isoformat(), "end_at": end.isoformat()},
    }
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 201, reply.body
    return reply.body


def status(api, shop, engagement):
    path = f"{shop.path}/engagements/{engagement['engagement_id']}"
    return api.get(path, key=shop.admin_key).body["status"]


def fire(chalice_client, schedule: dict) -> dict:
    """Invoke the target exactly as the schedule would, with its stored Input."""
    payload = json.loads(schedule["Target"]["Input"])
    return chalice_client.lambda_.invoke("apply_transition", payload).payload


def test_start_then_end_move_the_status(api, shop, chalice_client, clock):
    engagement = create(api, shop)
    eid = engagement["engagement_id"]
    start, end = (schedules_by_name()[f"{eid}-{kind}"] for kind in ("start", "end"))
    clock.move_to(START)
    assert fire(chalice_client, start) == {"outcome": "changed", "status": "active"}
    assert status(api, shop, engagement) == "active"
    clock.move_to(END + timedelta(seconds=1))
    assert fire(chalice_client, end) == {"outcome": "changed", "status": "ended"}
    assert status(api, shop, engagement) == "ended"


def test_a_start_fired_twice_counts_once(api, shop, chalice_client, clock):
    engagement = create(api, shop)
    start = schedules_by_name()[f"{engagement['engagement_id']}-start"]
    clock.move_to(START + timedelta(seconds=5))
    fire(chalice_client, start)
    before = store_snapshot()
    assert fire(chalice_client, start) == {"outcome": "unchanged", "status": "active"}
    assert store_snapshot() == before


def test_an_end_fired_before_the_late_start_leaves_it_ended(api, shop, chalice_client, clock):
    engagement = create(api, shop)
    eid = engagement["engagement_id"]
    start, end = (schedules_by_name()[f"{eid}-{kind}"] for kind in ("start", "end"))
    clock.move_to(END + timedelta(minutes=3))
    assert fire(chalice_client, end)["status"] == "ended"
    assert fire(chalice_client, start) == {"outcome": "unchanged", "status": "ended"}
    assert status(api, shop, engagement) == "ended"


def test_a_late_start_after_the_end_goes_straight_to_ended(api, shop, chalice_client, clock):
    engagement = create(api, shop)
    start = schedules_by_name()[f"{engagement['engagement_id']}-start"]
    clock.move_to(END + timedelta(hours=1))
    assert fire(chalice_client, start) == {"outcome": "changed", "status": "ended"}


def test_a_firing_for_a_deleted_engagement_is_ignored(api, shop, chalice_client, clock):
    engagement = create(api, shop)
    start = schedules_by_name()[f"{engagement['engagement_id']}-start"]
    path = f"{shop.path}/engagements/{engagement['engagement_id']}"
    assert api.delete(path, key=shop.admin_key).status == 204
    clock.move_to(START)
    before = store_snapshot()
    assert fire(chalice_client, start) == {"outcome": "gone"}
    assert store_snapshot() == before


def test_a_firing_from_a_replaced_schedule_is_stale(api, shop, chalice_client, clock):
    engagement = create(api, shop)
    eid = engagement["engagement_id"]
    old_start = schedules_by_name()[f"{eid}-start"]
    later = {"start_at": (START + timedelta(days=2)).isoformat(), "end_at": END.isoformat()}
    path = f"{shop.path}/engagements/{eid}"
    assert api.patch(path, {"schedule": later}, key=shop.admin_key, If_Match="1").status == 200
    clock.move_to(START)
    before = store_snapshot()
    assert fire(chalice_client, old_start) == {"outcome": "stale", "status": "scheduled"}
    assert store_snapshot() == before
    clock.move_to(START + timedelta(days=2))
    new_start = schedules_by_name()[f"{eid}-start"]
    assert fire(chalice_client, new_start) == {"outcome": "changed", "status": "active"}


def test_a_firing_for_a_paused_engagement_changes_nothing(api, shop, chalice_client, clock):
    engagement = create(api, shop)
    start = schedules_by_name()[f"{engagement['engagement_id']}-start"]
    path = f"{shop.path}/engagements/{engagement['engagement_id']}"
    assert api.post(path + "/pause", key=shop.admin_key).status == 200
    clock.move_to(START)
    before = store_snapshot()
    assert fire(chalice_client, start)["outcome"] == "stale"
    assert store_snapshot() == before
    assert status(api, shop, engagement) == "paused"


def test_resuming_after_the_start_passed_goes_active_and_keeps_only_the_end(api, shop, clock):
    engagement = create(api, shop)
    eid = engagement["engagement_id"]
    path = f"{shop.path}/engagements/{eid}"
    api.post(path + "/pause", key=shop.admin_key)
    clock.move_to(START + timedelta(hours=2))
    assert api.post(path + "/resume", key=shop.admin_key).body["status"] == "active"
    assert set(schedules_by_name()) == {f"{eid}-end"}


def test_an_engagement_once_active_keeps_its_variants_frozen(api, shop, chalice_client, clock):
    engagement = create(api, shop)
    eid = engagement["engagement_id"]
    start = schedules_by_name()[f"{eid}-start"]
    clock.move_to(START)
    fire(chalice_client, start)
    path = f"{shop.path}/engagements/{eid}"
    api.post(path + "/pause", key=shop.admin_key)
    patch = {"variants": [{"key": "B", "message": {"layout": "modal", "title": "New"}}]}
    reply = api.patch(path, patch, key=shop.admin_key, If_Match="3")
    assert reply.status == 409 and "frozen" in reply.body["Message"]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"app_id": "a", "engagement_id": "e"},
        {"app_id": 1, "engagement_id": "e", "revision": 1},
        {"app_id": "a", "engagement_id": "e", "revision": "1"},
        ["not", "an", "object"],
    ],
)
def test_a_malformed_firing_is_rejected_without_retry(api, shop, chalice_client, payload):
    create(
        api,
        shop,
        start=datetime.now(UTC) + timedelta(hours=1),
        end=datetime.now(UTC) + timedelta(days=1),
    )
    before = store_snapshot()
    reply = chalice_client.lambda_.invoke("apply_transition", payload).payload
    assert reply["outcome"] == "rejected"
    assert store_snapshot() == before
