"""The one eligibility decision, asked on an event (the fetch) or on any event (the dialect)."""

from datetime import UTC, datetime, timedelta

from chalicelib.domain import eligibility
from chalicelib.domain.eligibility import (
    Device,
    ImpressionHistory,
    OnAnyEvent,
    OnEvent,
    compile_engagement,
    decide,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ALWAYS = OnAnyEvent("test", lambda conditions: None)
NEVER = OnAnyEvent("test", lambda conditions: {"why": "cannot"})


def compiled(status="active", **spec):
    body = {
        "name": "Sale",
        "variants": [{"key": "A", "weight": 100, "message": {"layout": "modal", "title": "T"}}],
        "schedule": {
            "start_at": (NOW - timedelta(hours=1)).isoformat(),
            "end_at": (NOW + timedelta(days=1)).isoformat(),
        },
        "trigger": {
            "event": "checkout",
            "conditions": [{"attribute": "screen", "op": "eq", "value": "cart"}],
        },
        **spec,
    }
    return compile_engagement("eng-1", status, body, {})


DEVICE = Device("d-1", registered=True, fields={"user_id": "u-1"})
TEST_DEVICE = Device("d-1", registered=True, fields={"user_id": "u-1"}, test=True)
NO_HISTORY = eligibility.NO_HISTORY


def test_on_an_event_the_name_and_the_conditions_must_match():
    engagement = compiled()
    on_checkout = OnEvent("checkout", {"screen": "cart"})
    assert decide(engagement, DEVICE, NO_HISTORY, on_checkout, NOW).eligible
    wrong_event = decide(engagement, DEVICE, NO_HISTORY, OnEvent("app_launch"), NOW)
    assert (wrong_event.reason, wrong_event.detail) == (
        "event_mismatch",
        {"expected": "checkout", "received": "app_launch"},
    )
    wrong_screen = decide(engagement, DEVICE, NO_HISTORY, OnEvent("checkout", {"screen": "x"}), NOW)
    assert wrong_screen.reason == "event_conditions"


def test_on_any_event_the_trigger_only_has_to_be_one_the_client_can_evaluate():
    engagement = compiled()
    assert decide(engagement, DEVICE, NO_HISTORY, ALWAYS, NOW).eligible
    refused = decide(engagement, DEVICE, NO_HISTORY, NEVER, NOW)
    assert (refused.eligible, refused.reason, refused.detail) == (
        False,
        "trigger_unsupported",
        {"dialect": "test", "why": "cannot"},
    )


def test_the_check_is_handed_the_engagements_conditions():
    seen = []
    decide(compiled(), DEVICE, NO_HISTORY, OnAnyEvent("test", seen.append), NOW)
    [(condition,)] = seen
    assert (condition.attribute, condition.op, condition.value) == ("screen", "eq", "cart")


def test_on_any_event_every_other_check_still_applies_in_order():
    assert decide(compiled(status="paused"), DEVICE, NO_HISTORY, NEVER, NOW).reason == "paused"
    later = {"start_at": (NOW + timedelta(hours=1)).isoformat(), "end_at": "2027-01-01T00:00:00Z"}
    assert decide(compiled(schedule=later), DEVICE, NO_HISTORY, NEVER, NOW).reason == (
        "outside_window"
    )
    others = compiled(audience={"user_ids": ["someone-else"]})
    assert decide(others, DEVICE, NO_HISTORY, ALWAYS, NOW).reason == "not_in_audience"
    assert decide(others, DEVICE, NO_HISTORY, NEVER, NOW).reason == "trigger_unsupported"
    held_out = compiled(control_percent=50, audience={"percent": 100})
    reasons = {
        decide(held_out, Device(f"d-{n}", True), NO_HISTORY, ALWAYS, NOW).reason for n in range(40)
    }
    assert reasons == {None, "control_group"}
    capped = compiled(frequency={"max_impressions": 1})
    seen_once = ImpressionHistory(total=1, last_at=NOW.timestamp() - 60)
    assert decide(capped, DEVICE, seen_once, ALWAYS, NOW).reason == "capped_total"


def test_a_test_device_skips_all_but_the_trigger_on_any_event_too():
    engagement = compiled(status="draft", test_device_ids=["d-1"])
    assert decide(engagement, DEVICE, NO_HISTORY, ALWAYS, NOW).reason == "not_active"  # no token
    shown = decide(engagement, TEST_DEVICE, NO_HISTORY, ALWAYS, NOW)
    assert (shown.eligible, shown.test, shown.variant) == (True, True, "A")
    assert decide(engagement, TEST_DEVICE, NO_HISTORY, NEVER, NOW).reason == "trigger_unsupported"
