"""The behaviour profile alone: its bounds, and what conditions read from it."""

import json

from chalicelib.domain import profile, rules
from chalicelib.domain.profile import ProfileView

NOW = 1_796_000_000.0  # 2026-11-29T…Z
DAY = profile.DAY_SECONDS


def test_the_largest_profile_fits_its_documented_size():
    raw: dict = {}
    names = [f"{n:02d}".ljust(64, "x") for n in range(profile.MAX_EVENT_NAMES + 5)]
    for day in range(profile.KEEP_DAYS + 10):
        for name in names:
            raw = profile.custom_event(raw, name, NOW - day * DAY + 0.123456, NOW)
    for entry in raw["events"].values():
        entry["days"] = {day: 999_999 for day in entry["days"]}
    for n in range(profile.MAX_ENGAGEMENTS + 5):
        engagement = f"{n:03d}".ljust(64, "e")
        for action in ("clicked", "dismissed"):
            raw = profile.engagement_action(raw, engagement, action, NOW - n + 0.654321)
    assert len(raw["events"]) == profile.MAX_EVENT_NAMES
    assert all(len(e["days"]) == profile.KEEP_DAYS for e in raw["events"].values())
    assert len(raw["engagements"]) == profile.MAX_ENGAGEMENTS
    size = len(json.dumps(raw, separators=(",", ":")).encode())
    assert 50_000 < size <= profile.PROFILE_MAX_BYTES


def test_days_older_than_kept_are_dropped_when_written():
    raw = profile.custom_event({}, "open", NOW - 95 * DAY, NOW - 95 * DAY)
    raw = profile.custom_event(raw, "open", NOW, NOW)
    assert list(raw["events"]["open"]["days"]) == [str(profile.epoch_day(NOW))]
    assert raw["events"]["open"]["last"] == NOW
    assert raw["first"] == NOW - 95 * DAY  # activity is kept whole


def test_an_event_older_than_the_window_keeps_only_its_last_time():
    raw = profile.custom_event({}, "open", NOW, NOW)
    raw = profile.custom_event(raw, "old", NOW - 100 * DAY, NOW)
    assert "days" not in raw["events"]["old"]
    assert ProfileView(raw, NOW).last("old") == NOW - 100 * DAY


def test_out_of_order_events_keep_the_latest_time_and_the_earliest_actions():
    raw = profile.custom_event({}, "buy", NOW, NOW)
    raw = profile.custom_event(raw, "buy", NOW - 10, NOW)
    view = ProfileView(raw, NOW)
    assert view.last("buy") == NOW and view.count("buy", 1) == 2
    raw = profile.engagement_action(raw, "e1", "clicked", NOW)
    raw = profile.engagement_action(raw, "e1", "seen", NOW - 60)
    assert ProfileView(raw, NOW).engagement("e1") == {"seen": NOW - 60, "clicked": NOW}


def test_conditions_read_the_view():
    raw = profile.custom_event({}, "buy", NOW - DAY, NOW)
    view = ProfileView(raw, NOW)
    rule = rules.parse_rule(
        {"all": [{"event": "buy", "op": "count_gte", "value": 1, "within_days": 2}]}, "rules"
    )
    assert rules.evaluate(rule, lambda name: rules.MISSING, view)
    assert not rules.evaluate(rule, lambda name: rules.MISSING, ProfileView(raw, NOW + DAY))
    assert rules.tracked_events(rule) == {"buy"} and rules.is_behavioural(rule)
