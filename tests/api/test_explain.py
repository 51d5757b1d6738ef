"""Explain: for each engagement, whether this device would get it now, and the reason if not."""

from datetime import UTC, datetime, timedelta

import time_machine

from chalicelib.domain.assignment import assign
from tests.api.device_helpers import (
    create_engagement,
    explain,
    live_engagement,
    register,
    seed_impressions,
    shown_ids,
)


def first_device(eid, wanted):
    """A device id whose assignment in `eid` satisfies `wanted`."""
    return next(
        f"d-{n}"
        for n in range(10_000)
        if wanted(assign(eid, f"device:d-{n}", 50, 50, (("A", 100),)))
    )


@time_machine.travel(datetime(2026, 12, 2, 12, 0, tzinfo=UTC), tick=False)
def test_every_reason_is_reported_with_its_numbers(api, shop):
    now = datetime.now(UTC).replace(microsecond=0)
    later = {
        "start_at": (now + timedelta(days=1)).isoformat(),
        "end_at": (now + timedelta(days=2)).isoformat(),
    }
    ids = {
        "eligible": create_engagement(api, shop, live_engagement("Eligible")),
        "draft": create_engagement(api, shop, live_engagement("Draft", status="draft")),
        "later": create_engagement(api, shop, live_engagement("Later", schedule=later)),
        "paused": create_engagement(api, shop, live_engagement("Paused")),
        "event": create_engagement(
            api, shop, live_engagement("Checkout", trigger={"event": "checkout"})
        ),
        "conditions": create_engagement(
            api,
            shop,
            live_engagement(
                "Home",
                trigger={
                    "event": "app_launch",
                    "conditions": [{"attribute": "screen", "op": "eq", "value": "home"}],
                },
            ),
        ),
        "audience": create_engagement(
            api, shop, live_engagement("VIP", audience={"user_ids": ["vip"]})
        ),
        "total": create_engagement(
            api, shop, live_engagement("Total", frequency={"max_impressions": 2})
        ),
        "daily": create_engagement(
            api, shop, live_engagement("Daily", frequency={"max_per_day": 1})
        ),
        "interval": create_engagement(
            api, shop, live_engagement("Interval", frequency={"min_interval_seconds": 3600})
        ),
    }
    api.post(f"{shop.path}/engagements/{ids['paused']}/pause", key=shop.admin_key)
    register(api, shop, "d-1", timezone="Europe/Paris")
    seed_impressions(
        shop.app_id, "device:d-1", ids["total"], [now - timedelta(days=3), now - timedelta(days=2)]
    )
    seed_impressions(shop.app_id, "device:d-1", ids["daily"], [now - timedelta(seconds=30)])
    seed_impressions(shop.app_id, "device:d-1", ids["interval"], [now - timedelta(minutes=20)])

    report = explain(api, shop, "d-1")
    reasons = {name: report[eid]["reason"] for name, eid in ids.items()}
    assert reasons == {
        "eligible": None,
        "draft": "not_active",
        "later": "outside_window",
        "paused": "paused",
        "event": "event_mismatch",
        "conditions": "event_conditions",
        "audience": "not_in_audience",
        "total": "capped_total",
        "daily": "capped_daily",
        "interval": "capped_interval",
    }
    assert report[ids["eligible"]]["eligible"] is True and report[ids["eligible"]]["variant"] == "A"
    assert report[ids["total"]]["detail"] == {"impressions": 2, "max_impressions": 2}
    assert report[ids["daily"]]["detail"]["impressions_today"] == 1
    assert report[ids["daily"]]["detail"]["timezone"] == "Europe/Paris"
    assert 1190 <= report[ids["interval"]]["detail"]["seconds_since_last"] <= 1210
    assert report[ids["event"]]["detail"] == {"expected": "checkout", "received": "app_launch"}
    assert report[ids["conditions"]]["detail"]["condition"]["attribute"] == "screen"
    assert report[ids["later"]]["detail"]["start_at"].startswith(later["start_at"][:16])
    # explain and fetch agree
    assert shown_ids(api, shop, "d-1") == [eid for eid in ids.values() if report[eid]["eligible"]]


def test_percent_and_control_group_reasons(api, shop):
    eid = create_engagement(
        api, shop, live_engagement("Half", audience={"percent": 50}, control_percent=50)
    )
    outside = first_device(eid, lambda a: not a.in_percent)
    control = first_device(eid, lambda a: a.in_control)
    assert explain(api, shop, outside)[eid]["reason"] == "outside_percent"
    assert explain(api, shop, outside)[eid]["detail"] == {"percent": 50}
    assert explain(api, shop, control)[eid]["reason"] == "control_group"


def test_explain_names_the_event_and_registration(api, shop):
    create_engagement(api, shop, live_engagement("Any"))
    reply = api.get(
        f"{shop.path}/devices/ghost/messages/explain?event=checkout", key=shop.admin_key
    )
    assert reply.status == 200
    assert reply.body["device_id"] == "ghost"
    assert reply.body["event"] == "checkout"
    assert reply.body["registered"] is False


def test_explain_is_for_admins_of_this_app_only(api, shop, other_shop):
    path = f"{shop.path}/devices/d-1/messages/explain"
    assert api.get(path, X_Client_Key=shop.client_key).status == 401
    assert api.get(path, key=shop.client_key).status == 403
    assert api.get(path, key=other_shop.admin_key).status == 403
    assert api.get(path + "?event=bad%20event", key=shop.admin_key).status == 400
