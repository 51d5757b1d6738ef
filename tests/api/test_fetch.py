"""The message fetch through HTTP: every eligibility rule, ordering, localization, test devices."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.domain.assignment import assign
from tests.api.device_helpers import (
    create_engagement,
    fetch,
    live_engagement,
    register,
    seed_impressions,
    shown_ids,
)
from tests.builders import SPEC_EXAMPLE
from tests.conftest import store_snapshot


def test_a_live_engagement_for_everyone_is_fetched_with_its_contract_fields(api, shop):
    body = live_engagement(
        "Spring",
        variants=[{**SPEC_EXAMPLE["variants"][0], "weight": 100}],
        metrics=[{"element": "buy", "metric": "spring_buy_clicked"}],
        priority=3,
    )
    eid = create_engagement(api, shop, body)
    reply = fetch(api, shop, "d-1")
    assert reply["next_fetch_after"] > 0
    [message] = reply["messages"]
    assert message["engagement_id"] == eid
    assert message["variant"] == "A"
    assert message["priority"] == 3
    assert message["test"] is False
    assert message["metrics"] == {"buy": "spring_buy_clicked"}
    assert message["expires_at"].endswith("Z")
    assert message["message"]["title"] == "Spring sale"
    assert message["message"]["buttons"][0]["label"] == "Shop now"
    assert "localizations" not in message["message"]


def test_fetching_changes_nothing_stored(api, shop):
    create_engagement(api, shop, live_engagement("Spring"))
    before = store_snapshot()
    fetch(api, shop, "d-1")
    assert store_snapshot() == before


def test_the_message_is_localized_for_the_devices_locale(api, shop):
    body = live_engagement("Spring", variants=[{**SPEC_EXAMPLE["variants"][0], "weight": 100}])
    create_engagement(api, shop, body)
    register(api, shop, "fr-be", locale="fr-BE")
    register(api, shop, "ja", locale="ja-JP")
    french = fetch(api, shop, "fr-be")["messages"][0]["message"]
    assert french["title"] == "Soldes" and french["buttons"][0]["label"] == "Acheter"
    assert french["buttons"][1]["label"] == "Later"
    assert fetch(api, shop, "ja")["messages"][0]["message"]["title"] == "Spring sale"


def test_only_the_trigger_event_shows_the_message(api, shop):
    launch = create_engagement(api, shop, live_engagement("Launch"))
    checkout = create_engagement(
        api, shop, live_engagement("Checkout", trigger={"event": "checkout"})
    )
    assert shown_ids(api, shop, "d-1") == [launch]
    assert shown_ids(api, shop, "d-1", "checkout") == [checkout]
    assert shown_ids(api, shop, "d-1", "purchase") == []


def test_event_conditions_must_all_hold_on_the_posted_attributes(api, shop):
    trigger = {
        "event": "screen_view",
        "conditions": [
            {"attribute": "screen", "op": "eq", "value": "home"},
            {"attribute": "cart_value", "op": "gte", "value": 50},
        ],
    }
    eid = create_engagement(api, shop, live_engagement("Home", trigger=trigger))
    path = f"{shop.path}/devices/d-1/messages"

    def posted(attributes):
        body = {"event": "screen_view", "attributes": attributes}
        reply = api.post(path, body, X_Client_Key=shop.client_key)
        assert reply.status == 200, reply.body
        return [m["engagement_id"] for m in reply.body["messages"]]

    assert posted({"screen": "home", "cart_value": 80}) == [eid]
    assert posted({"screen": "home", "cart_value": 20}) == []
    assert posted({"screen": "cart", "cart_value": 80}) == []
    assert shown_ids(api, shop, "d-1", "screen_view") == []


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        {"event": "bad event!"},
        {"event": "x", "attributes": {"a": [1]}},
        {"event": "x", "extra": 1},
    ],
)
def test_a_bad_fetch_body_is_refused(api, shop, body):
    reply = api.post(f"{shop.path}/devices/d-1/messages", body, X_Client_Key=shop.client_key)
    assert reply.status == 400
    assert set(reply.body) == {"Code", "Message"}


def test_drafts_scheduled_and_ended_engagements_are_not_shown(api, shop):
    create_engagement(api, shop, live_engagement("Draft", status="draft"))
    now = datetime.now(UTC)
    future = {
        "start_at": (now + timedelta(days=1)).isoformat(),
        "end_at": (now + timedelta(days=2)).isoformat(),
    }
    create_engagement(api, shop, live_engagement("Later", schedule=future))
    assert shown_ids(api, shop, "d-1") == []


def test_pause_takes_effect_on_the_very_next_fetch(api, shop):
    eid = create_engagement(api, shop, live_engagement("Sale"))
    assert shown_ids(api, shop, "d-1") == [eid]
    path = f"{shop.path}/engagements/{eid}"
    assert api.post(path + "/pause", key=shop.admin_key).status == 200
    assert shown_ids(api, shop, "d-1") == []
    assert api.post(path + "/resume", key=shop.admin_key).status == 200
    assert shown_ids(api, shop, "d-1") == [eid]


def test_an_edit_is_seen_by_the_next_fetch(api, shop):
    eid = create_engagement(api, shop, live_engagement("Sale"))
    assert fetch(api, shop, "d-1")["messages"][0]["priority"] == 5
    path = f"{shop.path}/engagements/{eid}"
    api.patch(path, {"priority": 2}, key=shop.admin_key, If_Match="1")
    assert fetch(api, shop, "d-1")["messages"][0]["priority"] == 2


def test_the_window_is_checked_on_every_fetch_even_if_the_end_never_fired(api, shop):
    eid = create_engagement(api, shop, live_engagement("Sale"))
    assert shown_ids(api, shop, "d-1") == [eid]
    with time_machine.travel(datetime.now(UTC) + timedelta(days=8), tick=False):
        assert shown_ids(api, shop, "d-1") == []
        status = api.get(f"{shop.path}/engagements/{eid}", key=shop.admin_key).body["status"]
        assert status == "active"  # the end schedule has not fired, the fetch still refuses


def test_a_scheduled_engagement_shows_once_its_window_opens_even_before_the_start_fires(api, shop):
    now = datetime.now(UTC)
    window = {
        "start_at": (now + timedelta(hours=1)).isoformat(),
        "end_at": (now + timedelta(days=1)).isoformat(),
    }
    eid = create_engagement(api, shop, live_engagement("Soon", schedule=window))
    assert shown_ids(api, shop, "d-1") == []
    with time_machine.travel(now + timedelta(hours=1, seconds=1), tick=False):
        assert shown_ids(api, shop, "d-1") == [eid]


def test_audiences_user_ids_and_device_ids_select_devices(api, shop):
    rules = {"all": [{"attribute": "locale", "op": "in", "value": ["fr-FR", "fr-BE"]}]}
    audience = api.post(
        shop.path + "/audiences", {"name": "French", "rules": rules}, key=shop.admin_key
    ).body["audience_id"]
    target = {"audience_ids": [audience], "user_ids": ["vip-1"], "device_ids": ["qa-7"]}
    eid = create_engagement(api, shop, live_engagement("Targeted", audience=target))
    register(api, shop, "french", locale="fr-FR")
    register(api, shop, "english", locale="en-GB")
    register(api, shop, "vip-phone", locale="en-GB", user_id="vip-1")
    register(api, shop, "qa-7", locale="en-GB")
    assert shown_ids(api, shop, "french") == [eid]
    assert shown_ids(api, shop, "english") == []
    assert shown_ids(api, shop, "vip-phone") == [eid]
    assert shown_ids(api, shop, "qa-7") == [eid]
    assert shown_ids(api, shop, "never-registered") == []


def test_an_audience_rule_change_is_seen_by_the_next_fetch(api, shop):
    rules = {"all": [{"attribute": "attributes.plan", "op": "eq", "value": "gold"}]}
    audience = api.post(
        shop.path + "/audiences", {"name": "Gold", "rules": rules}, key=shop.admin_key
    ).body["audience_id"]
    eid = create_engagement(
        api, shop, live_engagement("Gold", audience={"audience_ids": [audience]})
    )
    register(api, shop, "d-1", attributes={"plan": "silver"})
    assert shown_ids(api, shop, "d-1") == []
    silver = {"all": [{"attribute": "attributes.plan", "op": "in", "value": ["gold", "silver"]}]}
    api.put(
        f"{shop.path}/audiences/{audience}", {"name": "Gold", "rules": silver}, key=shop.admin_key
    )
    assert shown_ids(api, shop, "d-1") == [eid]


def test_percent_and_variants_follow_the_deterministic_assignment(api, shop):
    variants = [
        {"key": "A", "weight": 60, "message": {"layout": "modal", "title": "A"}},
        {"key": "B", "weight": 40, "message": {"layout": "modal", "title": "B"}},
    ]
    eid = create_engagement(
        api,
        shop,
        live_engagement("AB", ab_test=True, variants=variants, audience={"percent": 30}),
    )
    served = {}
    for n in range(300):
        device_id = f"d-{n}"
        messages = fetch(api, shop, device_id)["messages"]
        expected = assign(eid, f"device:{device_id}", 30, 0, (("A", 60), ("B", 40)))
        assert bool(messages) == expected.in_percent
        if messages:
            assert messages[0]["variant"] == expected.variant
            served[device_id] = messages[0]["variant"]
    assert 60 <= len(served) <= 120
    for device_id, variant in list(served.items())[:20]:
        assert fetch(api, shop, device_id)["messages"][0]["variant"] == variant


def test_a_user_keeps_their_assignment_across_reinstalls(api, shop):
    variants = [
        {"key": "A", "weight": 50, "message": {"layout": "modal", "title": "A"}},
        {"key": "B", "weight": 50, "message": {"layout": "modal", "title": "B"}},
    ]
    create_engagement(api, shop, live_engagement("AB", ab_test=True, variants=variants))
    for n in range(10):
        register(api, shop, f"old-phone-{n}", user_id=f"user-{n}")
        register(api, shop, f"new-phone-{n}", user_id=f"user-{n}")
        old = fetch(api, shop, f"old-phone-{n}")["messages"][0]["variant"]
        assert fetch(api, shop, f"new-phone-{n}")["messages"][0]["variant"] == old


def test_the_control_group_is_shown_nothing(api, shop):
    eid = create_engagement(api, shop, live_engagement("Held out", control_percent=50))
    for n in range(60):
        placed = assign(eid, f"device:d-{n}", 100, 50, (("A", 100),))
        assert bool(shown_ids(api, shop, f"d-{n}")) == (not placed.in_control)


def test_total_and_interval_caps(api, shop):
    frequency = {"max_impressions": 3, "min_interval_seconds": 3600}
    eid = create_engagement(api, shop, live_engagement("Capped", frequency=frequency))
    now = datetime.now(UTC)
    seed_impressions(shop.app_id, "device:fresh", eid, [now - timedelta(hours=5)])
    assert shown_ids(api, shop, "fresh") == [eid]
    seed_impressions(shop.app_id, "device:recent", eid, [now - timedelta(minutes=10)])
    assert shown_ids(api, shop, "recent") == []
    seed_impressions(shop.app_id, "device:tired", eid, [now - timedelta(days=d) for d in (1, 2, 3)])
    assert shown_ids(api, shop, "tired") == []


def test_caps_follow_the_user_across_devices(api, shop):
    eid = create_engagement(api, shop, live_engagement("Once", frequency={"max_impressions": 1}))
    register(api, shop, "old-phone", user_id="u-1")
    register(api, shop, "new-phone", user_id="u-1")
    seed_impressions(shop.app_id, "user:u-1", eid, [datetime.now(UTC) - timedelta(days=1)])
    assert shown_ids(api, shop, "new-phone") == []
    assert shown_ids(api, shop, "someone-else") == [eid]


def test_the_daily_cap_counts_the_devices_own_calendar_day(api, shop):
    """At 10:00 UTC, an impression at 07:00 UTC was today in Paris but yesterday in Los Angeles."""
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        start = (now - timedelta(days=1)).isoformat()
        window = {"start_at": start, "end_at": (now + timedelta(days=5)).isoformat()}
        eid = create_engagement(
            api, shop, live_engagement("Daily", schedule=window, frequency={"max_per_day": 1})
        )
        register(api, shop, "paris", timezone="Europe/Paris")
        register(api, shop, "los-angeles", timezone="America/Los_Angeles")
        impression = [datetime(2026, 12, 2, 7, 0, tzinfo=UTC)]
        seed_impressions(shop.app_id, "device:paris", eid, impression)
        seed_impressions(shop.app_id, "device:los-angeles", eid, impression)
        assert shown_ids(api, shop, "paris") == []
        assert shown_ids(api, shop, "los-angeles") == [eid]
    # Paris's day ends at 23:00 UTC: a minute later the cap has reset there.
    with time_machine.travel(datetime(2026, 12, 2, 23, 1, tzinfo=UTC), tick=False):
        assert shown_ids(api, shop, "paris") == [eid]


def test_test_devices_see_drafts_paused_and_out_of_percent_engagements(api, shop):
    """SPEC §7.2 changed this: a test device is enrolled and fetches with its test token
    (tests/api/test_test_devices.py has the attacks)."""
    enrolled = {"device_id": "qa-phone-1", "label": "QA"}
    token = api.post(shop.path + "/test-devices", enrolled, key=shop.admin_key).body["test_token"]
    now = datetime.now(UTC)
    later = {
        "start_at": (now + timedelta(days=3)).isoformat(),
        "end_at": (now + timedelta(days=4)).isoformat(),
    }
    draft = create_engagement(
        api,
        shop,
        live_engagement(
            "Preview",
            status="draft",
            schedule=later,
            test_device_ids=["qa-phone-1"],
            audience={"percent": 0},
            frequency={"max_impressions": 1},
        ),
    )
    seed_impressions(shop.app_id, "device:qa-phone-1", draft, [now - timedelta(minutes=1)])
    [message] = fetch(api, shop, "qa-phone-1", test_token=token)["messages"]
    assert message["engagement_id"] == draft and message["test"] is True
    assert shown_ids(api, shop, "qa-phone-1", "purchase", test_token=token) == []
    assert shown_ids(api, shop, "ordinary-phone") == []
    paused = create_engagement(api, shop, live_engagement("Paused", test_device_ids=["qa-phone-1"]))
    api.post(f"{shop.path}/engagements/{paused}/pause", key=shop.admin_key)
    assert set(shown_ids(api, shop, "qa-phone-1", test_token=token)) == {draft, paused}


def test_messages_come_by_priority_then_latest_start_at_most_five(api, shop):
    now = datetime.now(UTC).replace(microsecond=0)
    ids = {}
    for name, priority, started_hours_ago in [
        ("p5-old", 5, 5),
        ("p1", 1, 3),
        ("p5-new", 5, 1),
        ("p3", 3, 2),
        ("p9", 9, 1),
        ("p7", 7, 1),
        ("p10", 10, 1),
    ]:
        window = {
            "start_at": (now - timedelta(hours=started_hours_ago)).isoformat(),
            "end_at": (now + timedelta(days=1)).isoformat(),
        }
        ids[name] = create_engagement(
            api, shop, live_engagement(name, priority=priority, schedule=window)
        )
    shown = shown_ids(api, shop, "d-1")
    assert shown == [ids[n] for n in ("p1", "p3", "p5-new", "p5-old", "p7")]


def test_next_fetch_after_shortens_before_an_engagement_starts(api, shop):
    now = datetime.now(UTC).replace(microsecond=0)
    soon = {
        "start_at": (now + timedelta(seconds=90)).isoformat(),
        "end_at": (now + timedelta(days=1)).isoformat(),
    }
    create_engagement(api, shop, live_engagement("Soon", schedule=soon))
    assert 1 <= fetch(api, shop, "d-1")["next_fetch_after"] <= 91


def test_fetching_needs_this_apps_client_key(api, shop, other_shop):
    path = f"{shop.path}/devices/d-1/messages"
    assert api.get(path).status == 401
    assert api.get(path, X_Client_Key="nonsense").status == 401
    assert api.get(path, X_Client_Key=other_shop.client_key).status == 403
    assert api.get(path, X_Client_Key=shop.admin_key).status == 403
    assert (
        api.get("/v1/apps/app000000000/devices/d-1/messages", X_Client_Key=shop.client_key).status
        == 403
    )


def test_another_apps_engagements_are_never_served(api, shop, other_shop):
    create_engagement(api, other_shop, live_engagement("Theirs"))
    assert shown_ids(api, shop, "d-1") == []
