"""Engagements through HTTP: create, read, list, update, delete, and their schedules."""

import json
import threading
from datetime import timedelta

import pytest

from chalicelib.errors import Conflict
from chalicelib.wiring import services
from tests.builders import SPEC_EXAMPLE, at, engagement, minimal_engagement
from tests.conftest import schedules_by_name, store_snapshot


def create(api, shop, body):
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 201, reply.body
    return reply.body


def contains(whole, part) -> bool:
    """Whether every key and value of `part` is in `whole` (recursively)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            key in whole and contains(whole[key], value) for key, value in part.items()
        )
    if isinstance(part, list):
        return (
            isinstance(whole, list)
            and len(whole) == len(part)
            and all(contains(w, p) for w, p in zip(whole, part, strict=True))
        )
    return whole == part


def path_of(shop, created):
    return f"{shop.path}/engagements/{created['engagement_id']}"


def test_the_spec_example_is_created_and_read_back(api, shop):
    body = engagement()
    created = create(api, shop, body)
    assert created["engagement_id"].startswith("eng")
    assert created["app_id"] == shop.app_id
    assert created["status"] == "scheduled" and created["version"] == 1
    assert contains(created, body)
    assert created["variants"][1]["message"]["localizations"] == {}  # defaults are filled in
    read = api.get(path_of(shop, created), key=shop.admin_key)
    assert read.body == created
    assert read.headers["ETag"] == '"1"'


def test_defaults_fill_what_was_left_out(api, shop):
    created = create(api, shop, minimal_engagement())
    assert created["ab_test"] is False
    assert created["variants"][0]["weight"] == 100
    assert created["audience"] == {
        "audience_ids": [],
        "user_ids": [],
        "device_ids": [],
        "percent": 100,
    }
    assert created["trigger"] == {"event": "app_launch", "conditions": []}
    assert created["priority"] == 5


def test_a_future_engagement_gets_start_and_end_schedules(api, shop):
    created = create(api, shop, engagement())
    found = schedules_by_name()
    eid = created["engagement_id"]
    assert set(found) == {f"{eid}-start", f"{eid}-end"}
    start = found[f"{eid}-start"]
    assert start["ScheduleExpression"].startswith("at(")
    assert start["ScheduleExpressionTimezone"] == "UTC"
    assert start["ActionAfterCompletion"] == "DELETE"
    assert start["GroupName"] == "herald-dev"
    assert start["Target"]["Arn"].endswith(":function:herald-dev-apply_transition")
    assert json.loads(start["Target"]["Input"]) == {
        "app_id": shop.app_id,
        "engagement_id": eid,
        "kind": "start",
        "revision": 1,
    }


def test_an_engagement_whose_start_has_passed_is_active_at_once(api, shop):
    created = create(api, shop, engagement(start=-timedelta(hours=1)))
    assert created["status"] == "active"
    assert set(schedules_by_name()) == {f"{created['engagement_id']}-end"}


def test_a_draft_has_no_schedules_until_published(api, shop):
    created = create(api, shop, engagement(status="draft"))
    assert created["status"] == "draft"
    assert schedules_by_name() == {}
    published = api.post(path_of(shop, created) + "/publish", key=shop.admin_key)
    assert published.status == 200
    assert published.body["status"] == "scheduled" and published.body["version"] == 2
    assert len(schedules_by_name()) == 2
    again = api.post(path_of(shop, created) + "/publish", key=shop.admin_key)
    assert again.status == 409


def test_names_are_unique_per_app(api, shop, other_shop):
    create(api, shop, engagement("Spring sale"))
    before = store_snapshot()
    reply = api.post(shop.path + "/engagements", engagement("spring SALE"), key=shop.admin_key)
    assert reply.status == 409
    assert "already exists" in reply.body["Message"]
    assert store_snapshot() == before
    create(api, other_shop, engagement("Spring sale"))


def test_concurrent_creates_with_one_name_give_exactly_one_winner(api, shop, like_dynamodb):
    body = json.dumps(engagement("Race")).encode()
    outcomes, barrier = [], threading.Barrier(8)
    service = services().engagements

    def attempt():
        barrier.wait()
        try:
            service.create(shop.app_id, body)
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["created"]
    listed = api.get(shop.path + "/engagements", key=shop.admin_key).body["engagements"]
    assert [item["name"] for item in listed] == ["Race"]


def test_renaming_keeps_names_unique_and_frees_the_old_name(api, shop):
    first = create(api, shop, engagement("First"))
    second = create(api, shop, engagement("Second"))
    before = store_snapshot()
    clash = api.patch(path_of(shop, second), {"name": "FIRST"}, key=shop.admin_key, If_Match="1")
    assert clash.status == 409
    assert store_snapshot() == before
    renamed = api.patch(path_of(shop, first), {"name": "Premier"}, key=shop.admin_key, If_Match="1")
    assert renamed.status == 200 and renamed.body["name"] == "Premier"
    create(api, shop, engagement("First"))


def test_listing_filters_by_status_and_pages_with_a_cursor(api, shop):
    made = [create(api, shop, engagement(f"E{i}"))["engagement_id"] for i in range(5)]
    create(api, shop, engagement("Draft", status="draft"))
    seen, cursor = [], None
    for _page in range(10):
        query = "?status=scheduled&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(shop.path + "/engagements" + query, key=shop.admin_key)
        assert page.status == 200
        seen += [item["engagement_id"] for item in page.body["engagements"]]
        cursor = page.body["cursor"]
        if cursor is None:
            break
    assert seen == made
    everything = api.get(shop.path + "/engagements?limit=100", key=shop.admin_key).body
    assert len(everything["engagements"]) == 6 and everything["cursor"] is None
    drafts = api.get(shop.path + "/engagements?status=draft", key=shop.admin_key).body
    assert [item["name"] for item in drafts["engagements"]] == ["Draft"]


@pytest.mark.parametrize(
    "query",
    ["?limit=0", "?limit=101", "?limit=ten", "?status=running", "?cursor=%%%", "?cursor=e30"],
)
def test_bad_list_parameters_are_refused(api, shop, query):
    reply = api.get(shop.path + "/engagements" + query, key=shop.admin_key)
    assert reply.status == 400
    assert reply.body["Code"] == "BadRequestError"


def test_an_update_needs_the_current_version(api, shop):
    created = create(api, shop, engagement())
    path = path_of(shop, created)
    before = store_snapshot()
    missing = api.patch(path, {"priority": 1}, key=shop.admin_key)
    assert missing.status == 428
    stale = api.patch(path, {"priority": 1}, key=shop.admin_key, If_Match="7")
    assert stale.status == 409 and "stale" in stale.body["Message"]
    garbled = api.patch(path, {"priority": 1}, key=shop.admin_key, If_Match="latest")
    assert garbled.status == 400
    assert store_snapshot() == before

    updated = api.patch(path, {"priority": 1}, key=shop.admin_key, If_Match='"1"')
    assert updated.status == 200
    assert updated.body["priority"] == 1 and updated.body["version"] == 2
    assert updated.headers["ETag"] == '"2"'
    assert api.patch(path, {"priority": 2}, key=shop.admin_key, If_Match="1").status == 409


def test_a_patch_merges_into_the_engagement(api, shop):
    created = create(api, shop, engagement())
    patch = {"description": "new words", "frequency": {"max_per_day": 2}, "conversion": None}
    updated = api.patch(path_of(shop, created), patch, key=shop.admin_key, If_Match="1").body
    assert updated["description"] == "new words"
    assert updated["frequency"] == {**SPEC_EXAMPLE["frequency"], "max_per_day": 2}
    assert "conversion" not in updated
    assert updated["variants"] == created["variants"]


@pytest.mark.parametrize(
    ("patch", "fragment"),
    [
        ({"status": "active"}, "status: read-only"),
        ({"version": 9}, "version: read-only"),
        ({"priority": "high"}, "priority:"),
        ({"schedule": {"end_at": "2020-01-01T00:00:00Z"}}, "end_at must be after start_at"),
        ({"variants": [{"key": "A", "message": {"layout": "modal"}}]}, "title or a body"),
        ({"surprise": True}, "surprise: unknown field"),
        ({"name": None}, "name: Field required"),
    ],
)
def test_a_bad_patch_is_refused_and_changes_nothing(api, shop, patch, fragment):
    created = create(api, shop, engagement())
    before = store_snapshot()
    reply = api.patch(path_of(shop, created), patch, key=shop.admin_key, If_Match="1")
    assert reply.status == 400, reply.body
    assert fragment in reply.body["Message"]
    assert store_snapshot() == before


def test_moving_the_end_into_the_past_is_refused(api, shop):
    created = create(api, shop, engagement(start=-timedelta(days=2)))
    before = store_snapshot()
    patch = {"schedule": {"start_at": at(-timedelta(days=2)), "end_at": at(-timedelta(hours=1))}}
    reply = api.patch(path_of(shop, created), patch, key=shop.admin_key, If_Match="1")
    assert reply.status == 400
    assert store_snapshot() == before


def test_rescheduling_moves_both_schedules_to_a_new_revision(api, shop):
    created = create(api, shop, engagement())
    eid = created["engagement_id"]
    old = schedules_by_name()
    new_window = {"start_at": at(timedelta(days=3)), "end_at": at(timedelta(days=9))}
    reply = api.patch(
        path_of(shop, created), {"schedule": new_window}, key=shop.admin_key, If_Match="1"
    )
    assert reply.status == 200 and reply.body["status"] == "scheduled"
    moved = schedules_by_name()
    assert set(moved) == set(old)
    for kind in ("start", "end"):
        assert (
            moved[f"{eid}-{kind}"]["ScheduleExpression"]
            != old[f"{eid}-{kind}"]["ScheduleExpression"]
        )
        assert json.loads(moved[f"{eid}-{kind}"]["Target"]["Input"])["revision"] == 2


def test_a_content_change_leaves_the_schedules_alone(api, shop):
    created = create(api, shop, engagement())
    before = schedules_by_name()
    api.patch(path_of(shop, created), {"priority": 2}, key=shop.admin_key, If_Match="1")
    assert schedules_by_name() == before


def test_variants_freeze_once_the_engagement_has_been_active(api, shop):
    scheduled = create(api, shop, engagement("Later"))
    weights = [
        {**variant, "weight": w} for variant, w in zip(scheduled["variants"], (70, 30), strict=True)
    ]
    unfrozen = api.patch(
        path_of(shop, scheduled), {"variants": weights}, key=shop.admin_key, If_Match="1"
    )
    assert unfrozen.status == 200

    running = create(api, shop, engagement("Now", start=-timedelta(minutes=5)))
    path = path_of(shop, running)
    before = store_snapshot()
    for patch in (
        {
            "variants": [
                {**v, "weight": w} for v, w in zip(running["variants"], (70, 30), strict=True)
            ]
        },
        {"variants": [{**running["variants"][0], "weight": 100}], "ab_test": False},
        {"control_percent": 20},
    ):
        reply = api.patch(path, patch, key=shop.admin_key, If_Match="1")
        assert reply.status == 409, patch
        assert "frozen" in reply.body["Message"]
    assert store_snapshot() == before

    reworded = [dict(v) for v in running["variants"]]
    reworded[0] = {**reworded[0], "message": {**reworded[0]["message"], "title": "Last day"}}
    allowed = api.patch(
        path,
        {"variants": reworded, "audience": {"percent": 50}, "frequency": {"max_per_day": 3}},
        key=shop.admin_key,
        If_Match="1",
    )
    assert allowed.status == 200
    assert allowed.body["variants"][0]["message"]["title"] == "Last day"


def test_pause_stops_the_schedules_and_resume_restores_them(api, shop):
    created = create(api, shop, engagement(start=-timedelta(minutes=1)))
    path = path_of(shop, created)
    paused = api.post(path + "/pause", key=shop.admin_key)
    assert paused.status == 200 and paused.body["status"] == "paused"
    assert schedules_by_name() == {}
    assert api.post(path + "/pause", key=shop.admin_key).status == 409
    resumed = api.post(path + "/resume", key=shop.admin_key)
    assert resumed.status == 200 and resumed.body["status"] == "active"
    restored = schedules_by_name()
    assert set(restored) == {f"{created['engagement_id']}-end"}
    assert (
        json.loads(restored[f"{created['engagement_id']}-end"]["Target"]["Input"])["revision"] == 3
    )
    assert api.post(path + "/resume", key=shop.admin_key).status == 409


def test_a_draft_cannot_be_paused(api, shop):
    created = create(api, shop, engagement(status="draft"))
    before = store_snapshot()
    reply = api.post(path_of(shop, created) + "/pause", key=shop.admin_key)
    assert reply.status == 409 and "draft" in reply.body["Message"]
    assert store_snapshot() == before


def test_delete_removes_the_engagement_its_schedules_and_its_name(api, shop):
    created = create(api, shop, engagement())
    path = path_of(shop, created)
    assert api.delete(path, key=shop.admin_key, If_Match="5").status == 409
    assert api.delete(path, key=shop.admin_key).status == 204
    assert api.get(path, key=shop.admin_key).status == 404
    assert api.delete(path, key=shop.admin_key).status == 404
    assert schedules_by_name() == {}
    create(api, shop, engagement())


def test_another_apps_engagements_are_out_of_reach(api, shop, other_shop):
    created = create(api, shop, engagement())
    mine = path_of(shop, created)
    theirs = f"{other_shop.path}/engagements/{created['engagement_id']}"
    before = store_snapshot()
    assert api.get(mine, key=other_shop.admin_key).status == 403
    assert api.patch(mine, {"priority": 1}, key=other_shop.admin_key, If_Match="1").status == 403
    assert api.post(mine + "/pause", key=other_shop.admin_key).status == 403
    assert api.delete(mine, key=other_shop.admin_key).status == 403
    assert api.get(theirs, key=other_shop.admin_key).status == 404
    assert api.post(theirs + "/pause", key=other_shop.admin_key).status == 404
    assert api.delete(theirs, key=other_shop.admin_key).status == 404
    assert api.get(other_shop.path + "/engagements", key=other_shop.admin_key).body == {
        "engagements": [],
        "cursor": None,
    }
    assert store_snapshot() == before
