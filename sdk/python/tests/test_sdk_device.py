"""The device client against a real local Herald: register, fetch, events counted."""

import pytest
from conftest import engagement_spec, wait_for
from herald_sdk import BadRequest, DeviceClient


def test_register_fetch_and_events_as_a_mobile_sdk_does(shop):
    made = shop.admin.create_engagement(
        engagement_spec("Checkout nudge", trigger={"event": "checkout"})
    )
    device = shop.device.register(
        "phone-1", user_id="u-1", platform="android", locale="fr-FR", timezone="Europe/Paris"
    )
    assert (device.device_id, device.platform, device.locale) == ("phone-1", "android", "fr-FR")

    assert shop.device.fetch("phone-1").messages == []  # app_launch: not this trigger
    [shown] = shop.device.fetch("phone-1", "checkout").messages
    assert shown.engagement_id == made.engagement_id
    assert shown.variant in ("A", "B")

    session = shop.device.session("phone-1")
    session.impression(shown)
    session.click(shown, "buy")
    session.track("purchase", {"amount": 12})
    assert session.flush() == 3
    assert session.pending == []

    def counted():
        report = shop.admin.metrics(made.engagement_id)
        variant = next(v for v in report.variants if v.key == shown.variant)
        return (variant.impressions, variant.clicks, variant.clicks_by_element) == (
            1,
            1,
            {"buy": 1},
        )

    wait_for(counted, 10)


def test_fetch_with_event_attributes_meets_trigger_conditions(shop):
    conditions = [{"attribute": "amount", "op": "gte", "value": 50}]
    shop.admin.create_engagement(
        engagement_spec("Big basket", trigger={"event": "cart", "conditions": conditions})
    )
    shop.device.register("phone-2", platform="ios")
    assert shop.device.fetch("phone-2", "cart", {"amount": 10}).messages == []
    assert len(shop.device.fetch("phone-2", "cart", {"amount": 80}).messages) == 1


def test_more_than_100_events_go_in_several_requests_and_bad_ones_are_refused(shop):
    stamp = engagement_spec()["schedule"]["start_at"]
    events = [
        {"id": f"e-{n}", "device_id": "d-1", "type": "custom", "name": "tap", "timestamp": stamp}
        for n in range(130)
    ]
    assert shop.device.send_events(events) == 130

    with pytest.raises(BadRequest, match="events"):
        shop.device.send_events([{"id": "x", "type": "nonsense"}])
    with pytest.raises(ValueError, match="names its app"):
        DeviceClient(shop.url, "not-a-key")


def test_text_answers_are_listed_page_by_page(shop, herald_cli):
    question = {"type": "text", "prompt": "Anything we could do better?"}
    spec = engagement_spec("Feedback", ab_test=False)
    spec["variants"] = [
        {"key": "A", "message": {"layout": "modal", "title": "Hi", "question": question}}
    ]
    made = shop.admin.create_engagement(spec)
    for n in range(3):
        device_id = f"phone-{n}"
        shop.device.register(device_id, platform="ios")
        [shown] = shop.device.fetch(device_id).messages
        session = shop.device.session(device_id)
        session.impression(shown)
        session.answer(shown, f"answer {n}")
        session.flush()

    wait_for(lambda: len(list(shop.admin.iter_responses(made.engagement_id))) == 3, 20)
    first = shop.admin.list_responses(made.engagement_id, limit=2)
    assert len(first) == 2 and first.cursor
    values = {a.value for a in shop.admin.iter_responses(made.engagement_id, page_size=2)}
    assert values == {"answer 0", "answer 1", "answer 2"}

    env = {"HERALD_URL": shop.url, "HERALD_ADMIN_KEY": shop.created.admin_key}
    listed = herald_cli("responses", "Feedback", **env)
    assert listed.exit_code == 0, listed.stderr
    assert "answer 2" in listed.stdout and "3 answer(s)" in listed.stdout
