"""Every bad engagement body answers 400 (or 413) naming the field, and changes nothing."""

import copy
from datetime import timedelta

import pytest

from tests.builders import at, engagement
from tests.conftest import store_snapshot


def edit(change):
    body = engagement()
    change(body)
    return body


def variant_a(body):
    return body["variants"][0]


def message_a(body):
    return body["variants"][0]["message"]


CASES = {
    "unknown field": (lambda b: b.update(colour="red"), "colour: unknown field"),
    "missing name": (lambda b: b.pop("name"), "name: Field required"),
    "blank name": (lambda b: b.update(name="   "), "name:"),
    "name too long": (lambda b: b.update(name="x" * 101), "name:"),
    "name not text": (lambda b: b.update(name=7), "name:"),
    "missing schedule": (lambda b: b.pop("schedule"), "schedule: Field required"),
    "missing variants": (lambda b: b.pop("variants"), "variants: Field required"),
    "wrong type": (lambda b: b.update(type="push"), "type:"),
    "priority as text": (lambda b: b.update(priority="5"), "priority:"),
    "priority 0": (lambda b: b.update(priority=0), "priority:"),
    "priority 11": (lambda b: b.update(priority=11), "priority:"),
    "control over 50": (lambda b: b.update(control_percent=60), "control_percent:"),
    "no variants": (lambda b: b.update(variants=[]), "variants:"),
    "nine variants": (
        lambda b: b.update(
            variants=[
                {**copy.deepcopy(b["variants"][1]), "key": f"V{i}", "weight": 10} for i in range(9)
            ]
        ),
        "variants:",
    ),
    "duplicate keys": (lambda b: b["variants"][1].update(key="A"), "keys must be unique"),
    "weights not 100": (lambda b: variant_a(b).update(weight=40), "sum to 100, not 90"),
    "weight missing in A/B": (lambda b: variant_a(b).pop("weight"), "needs a weight"),
    "two variants without ab_test": (lambda b: b.update(ab_test=False), "exactly one variant"),
    "unknown layout": (lambda b: message_a(b).update(layout="popup"), "variants[0].message.layout"),
    "missing layout": (lambda b: message_a(b).pop("layout"), "variants[0].message.layout"),
    "modal without text": (
        lambda b: message_a(b).update(title=None, body=None),
        "needs a title or a body",
    ),
    "image_only without image": (
        lambda b: message_a(b).update(layout="image_only", image_url=None),
        "needs image_url",
    ),
    "three buttons": (
        lambda b: message_a(b)["buttons"].append(
            {"id": "x", "label": "X", "action": {"type": "dismiss"}}
        ),
        "variants[0].message.buttons",
    ),
    "duplicate button ids": (
        lambda b: message_a(b)["buttons"][1].update(id="buy"),
        "button ids must be unique",
    ),
    "url action to ftp": (
        lambda b: message_a(b)["buttons"][0].update(
            action={"type": "url", "target": "ftp://x.example.com"}
        ),
        "https URL",
    ),
    "deep link without target": (
        lambda b: message_a(b)["buttons"][0].update(action={"type": "deep_link"}),
        "needs a target",
    ),
    "dismiss with target": (
        lambda b: message_a(b)["buttons"][1].update(action={"type": "dismiss", "target": "x://y"}),
        "takes no target",
    ),
    "colour not hex": (
        lambda b: message_a(b).update(background_color="white"),
        "variants[0].message.background_color",
    ),
    "image over plain http scheme check": (
        lambda b: message_a(b).update(image_url="javascript:alert(1)"),
        "variants[0].message.image_url",
    ),
    "localization of unknown button": (
        lambda b: message_a(b)["localizations"]["fr"]["buttons"].update(nope="Non"),
        "unknown button id",
    ),
    "bad locale": (
        lambda b: message_a(b)["localizations"].update({"français!": {"title": "x"}}),
        "variants[0].message.localizations",
    ),
    "percent over 100": (lambda b: b["audience"].update(percent=101), "audience.percent"),
    "percent as text": (lambda b: b["audience"].update(percent="50"), "audience.percent"),
    "repeated user ids": (lambda b: b["audience"].update(user_ids=["u", "u"]), "audience.user_ids"),
    "naive start": (
        lambda b: b["schedule"].update(start_at="2030-01-01T09:00:00"),
        "schedule.start_at",
    ),
    "not a date": (lambda b: b["schedule"].update(end_at="tomorrow"), "schedule.end_at"),
    "end before start": (
        lambda b: b["schedule"].update(end_at=b["schedule"]["start_at"]),
        "end_at must be after start_at",
    ),
    "end in the past": (
        lambda b: b.update(
            schedule={"start_at": at(-timedelta(days=2)), "end_at": at(-timedelta(days=1))}
        ),
        "end_at is in the past",
    ),
    "trigger condition op": (
        lambda b: b["trigger"]["conditions"][0].update(op="like"),
        "trigger.conditions[0].op",
    ),
    "trigger event name": (lambda b: b["trigger"].update(event="app launch!"), "trigger.event"),
    "negative interval": (
        lambda b: b["frequency"].update(min_interval_seconds=-1),
        "frequency.min_interval_seconds",
    ),
    "zero cap": (lambda b: b["frequency"].update(max_impressions=0), "frequency.max_impressions"),
    "metric on unknown element": (
        lambda b: b.update(metrics=[{"element": "nope", "metric": "m"}]),
        "metrics[0].element",
    ),
    "element mapped twice": (
        lambda b: b.update(metrics=[{"element": "buy", "metric": "m"}] * 2),
        "mapped to one metric",
    ),
    "conversion window zero": (
        lambda b: b["conversion"].update(window_hours=0),
        "conversion.window_hours",
    ),
    "status other than draft": (lambda b: b.update(status="active"), "status:"),
    "unknown audience id": (
        lambda b: b["audience"].update(audience_ids=["aud000000000000"]),
        "no audience aud000000000000",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_engagement_is_refused_naming_the_field_and_changes_nothing(api, shop, case):
    change, fragment = CASES[case]
    before = store_snapshot()
    reply = api.post(shop.path + "/engagements", edit(change), key=shop.admin_key)
    assert reply.status == 400, reply.body
    assert reply.body["Code"] == "BadRequestError"
    assert fragment in reply.body["Message"]
    assert store_snapshot() == before


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[1, 2]", b"null", b'"text"', b"", b'{"name": "x",}', b"\xff\xfe", b"[" * 60_000],
)
def test_malformed_json_is_refused(api, shop, raw):
    before = store_snapshot()
    reply = api.post(shop.path + "/engagements", raw, key=shop.admin_key)
    assert reply.status == 400
    assert set(reply.body) == {"Code", "Message"}
    assert store_snapshot() == before


def test_a_body_over_64_kib_is_too_large(api, shop):
    body = engagement(description="x" * (65 * 1024))
    before = store_snapshot()
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 413
    assert reply.body["Code"] == "RequestEntityTooLargeError"
    assert store_snapshot() == before


def test_an_audience_of_another_app_is_unknown(api, shop, other_shop):
    rules = {"all": [{"attribute": "platform", "op": "eq", "value": "ios"}]}
    theirs = api.post(
        other_shop.path + "/audiences", {"name": "iOS", "rules": rules}, key=other_shop.admin_key
    ).body["audience_id"]
    before = store_snapshot()
    body = engagement(audience={"audience_ids": [theirs]})
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 400
    assert theirs in reply.body["Message"]
    assert store_snapshot() == before
