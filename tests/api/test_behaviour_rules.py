"""Behavioural audience conditions through the audience routes: stored as sent, refused with the
path of the problem, and not allowed where no subject's history applies (trigger conditions)."""

import pytest

from tests.api.device_helpers import live_engagement
from tests.conftest import store_snapshot

BEHAVIOUR = {
    "all": [
        {"event": "purchase", "op": "count_gte", "value": 3, "within_days": 30},
        {
            "any": [
                {"event": "app_launch", "op": "last_within_days", "value": 7},
                {"event": "app_launch", "op": "last_not_within_days", "value": 365},
                {"event": "purchase", "op": "count_lt", "value": 0, "within_days": 90},
            ]
        },
        {"engagement": "eng_welcome", "op": "seen"},
        {"engagement": "eng_welcome", "op": "not_seen"},
        {"engagement": "eng_welcome", "op": "clicked"},
        {"engagement": "eng_welcome", "op": "dismissed"},
        {"attribute": "platform", "op": "eq", "value": "ios"},
    ]
}


def test_behavioural_conditions_mix_with_attribute_conditions(api, shop):
    reply = api.post(
        shop.path + "/audiences", {"name": "Loyal", "rules": BEHAVIOUR}, key=shop.admin_key
    )
    assert reply.status == 201, reply.body
    assert reply.body["rules"] == BEHAVIOUR


@pytest.mark.parametrize(
    ("condition", "path", "fragment"),
    [
        ({"event": "purchase", "op": "count_gte", "value": 3}, ".within_days", "1 to 90"),
        (
            {"event": "purchase", "op": "count_gte", "value": 3, "within_days": 91},
            ".within_days",
            "1 to 90",
        ),
        (
            {"event": "purchase", "op": "count_gte", "value": 3, "within_days": 0},
            ".within_days",
            "1 to 90",
        ),
        (
            {"event": "purchase", "op": "count_gte", "value": 2.5, "within_days": 3},
            ".value",
            "whole number",
        ),
        (
            {"event": "purchase", "op": "count_gte", "value": -1, "within_days": 3},
            ".value",
            "whole number",
        ),
        (
            {"event": "purchase", "op": "count_lt", "value": True, "within_days": 3},
            ".value",
            "whole number",
        ),
        (
            {"event": "purchase", "op": "count_gte", "value": "3", "within_days": 3},
            ".value",
            "whole number",
        ),
        ({"event": "purchase", "op": "eq", "value": 3}, ".op", "unknown op 'eq' for an event"),
        ({"event": "purchase", "op": "last_within_days", "value": 0}, ".value", "1 to 365"),
        ({"event": "purchase", "op": "last_within_days", "value": 366}, ".value", "1 to 365"),
        (
            {"event": "purchase", "op": "last_within_days", "value": 7, "within_days": 7},
            ".within_days",
            "in value",
        ),
        ({"event": "pur chase", "op": "last_within_days", "value": 7}, ".event", "event name"),
        ({"event": 3, "op": "last_within_days", "value": 7}, ".event", "event name"),
        ({"engagement": "eng_1", "op": "clicked", "value": 1}, "", "unknown field(s) value"),
        ({"engagement": "eng_1", "op": "liked"}, ".op", "unknown op 'liked' for an engagement"),
        ({"engagement": "", "op": "seen"}, ".engagement", "an engagement id"),
        ({"engagement": "eng_1"}, ".op", "unknown op None"),
        (
            {"event": "purchase", "op": "count_gte", "value": 1, "within_days": 3, "x": 1},
            "",
            "unknown field(s) x",
        ),
    ],
)
def test_bad_behavioural_conditions_are_400s_naming_the_path(api, shop, condition, path, fragment):
    before = store_snapshot()
    rules = {"all": [{"attribute": "platform", "op": "exists"}, {"any": [condition]}]}
    reply = api.post(shop.path + "/audiences", {"name": "Bad", "rules": rules}, key=shop.admin_key)
    assert reply.status == 400, reply.body
    assert reply.body["Message"].startswith(f"rules.all[1].any[0]{path}: "), reply.body
    assert fragment in reply.body["Message"]
    assert store_snapshot() == before


def test_trigger_conditions_cannot_be_behavioural(api, shop):
    body = live_engagement(
        "Trigger",
        trigger={
            "event": "checkout",
            "conditions": [{"event": "purchase", "op": "last_within_days", "value": 7}],
        },
    )
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 400
    assert reply.body["Message"].startswith("trigger.conditions[0]: unknown field(s) event")
