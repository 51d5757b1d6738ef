"""Templates in messages, through the routes: validated when saved, rendered on the fetch."""

import pytest

from tests.api.device_helpers import create_engagement, live_engagement, register
from tests.conftest import store_snapshot


def templated(name="Hello", **message) -> dict:
    body = {
        "layout": "modal",
        "title": 'Hi {{ attributes.first_name | default: "there" }}',
        "body": '{{ event.product | default: "Our pick" }} for {{ user_id }}',
        "buttons": [
            {
                "id": "buy",
                "label": "Buy {{ event.product }}",
                "action": {"type": "deep_link", "target": "shop://buy"},
            }
        ],
        "localizations": {
            "fr": {
                "title": 'Bonjour {{ attributes.first_name | default: "à vous" }}',
                "buttons": {"buy": 'Acheter {{ event.product | default: "ça" }}'},
            }
        },
    }
    body.update(message)
    return live_engagement(name, variants=[{"key": "A", "message": body}])


def fetch_for(api, shop, device_id, attributes=None, event="app_launch") -> list[dict]:
    reply = api.post(
        f"{shop.path}/devices/{device_id}/messages",
        {"event": event, "attributes": attributes or {}},
        X_Client_Key=shop.client_key,
    )
    assert reply.status == 200, reply.body
    return [item["message"] for item in reply.body["messages"]]


def test_variables_render_from_the_device_the_user_and_the_event(api, shop):
    create_engagement(api, shop, templated())
    register(api, shop, "d-1", user_id="u-42", attributes={"first_name": "Ann"})
    (message,) = fetch_for(api, shop, "d-1", {"product": "Tea"})
    assert message["title"] == "Hi Ann"
    assert message["body"] == "Tea for u-42"
    assert message["buttons"][0]["label"] == "Buy Tea"


def test_missing_values_take_the_default_or_nothing(api, shop):
    create_engagement(api, shop, templated())
    register(api, shop, "d-1")  # no user, no attributes
    (message,) = fetch_for(api, shop, "d-1")
    assert message["title"] == "Hi there"
    assert message["body"] == "Our pick for "
    assert message["buttons"][0]["label"] == "Buy "
    (message,) = fetch_for(api, shop, "unregistered")
    assert message["title"] == "Hi there"


def test_localized_templates_render_in_the_devices_language(api, shop):
    create_engagement(api, shop, templated())
    register(api, shop, "d-fr", locale="fr-FR", attributes={"first_name": "Élise"})
    (message,) = fetch_for(api, shop, "d-fr", {"product": "Thé"})
    assert message["title"] == "Bonjour Élise"
    assert message["body"] == "Thé for "  # not localized: the default text's template
    assert message["buttons"][0]["label"] == "Acheter Thé"
    register(api, shop, "d-fr2", locale="fr-BE")
    (message,) = fetch_for(api, shop, "d-fr2")
    assert message["title"] == "Bonjour à vous"
    assert message["buttons"][0]["label"] == "Acheter ça"


def test_values_are_inserted_as_text_never_evaluated_again(api, shop):
    create_engagement(api, shop, templated())
    register(
        api,
        shop,
        "d-1",
        user_id="{{ attributes.secret }}",
        attributes={"first_name": '<img src=x onerror="alert(1)">', "secret": "s3cr3t"},
    )
    (message,) = fetch_for(api, shop, "d-1", {"product": "{{ user_id }}\u0000\u0007"})
    assert message["title"] == 'Hi <img src=x onerror="alert(1)">'
    assert message["body"] == "{{ user_id }} for {{ attributes.secret }}"
    assert "s3cr3t" not in str(message)


def test_rendered_text_is_cut_at_the_fields_limit(api, shop):
    create_engagement(api, shop, templated())
    register(api, shop, "d-1", attributes={"first_name": "A" * 1000})
    (message,) = fetch_for(api, shop, "d-1", {"product": "B" * 1000})
    assert len(message["title"]) == 120 and message["title"].endswith("…")
    assert message["body"].startswith("B" * 255 + "…")  # one value: at most 256 characters
    assert len(message["buttons"][0]["label"]) == 40


def test_numbers_and_booleans_render_as_json_would_show_them(api, shop):
    create_engagement(
        api, shop, templated(title="{{ event.n }} / {{ event.x }} / {{ attributes.vip }}")
    )
    register(api, shop, "d-1", attributes={"vip": True})
    (message,) = fetch_for(api, shop, "d-1", {"n": 3, "x": 2.5})
    assert message["title"] == "3 / 2.5 / true"


@pytest.mark.parametrize(
    ("field", "value", "path", "fragment"),
    [
        ("title", "Hi {{ name }}", "variants[0].message.title", "unknown variable 'name'"),
        ("title", "{{ user_id | upcase }}", "variants[0].message.title", "unknown filter"),
        ("body", "Hi {{ user_id", "variants[0].message.body", "never closed"),
        ("body", "Hi }} there", "variants[0].message.body", "closes no"),
        ("body", "{{ user_id | default: there }}", "variants[0].message.body", "must be"),
        ("body", "{{ attributes.a b }}", "variants[0].message.body", "must be"),
        ("body", "{{ device.id }}", "variants[0].message.body", "unknown variable"),
    ],
)
def test_invalid_templates_are_400s_naming_the_field(api, shop, field, value, path, fragment):
    before = store_snapshot()
    reply = api.post(shop.path + "/engagements", templated(**{field: value}), key=shop.admin_key)
    assert reply.status == 400, reply.body
    assert reply.body["Message"].startswith(path + ": "), reply.body
    assert fragment in reply.body["Message"]
    assert store_snapshot() == before


def test_invalid_templates_in_labels_and_localizations_name_their_path(api, shop):
    body = templated()
    body["variants"][0]["message"]["buttons"][0]["label"] = "{{ event }}"
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 400
    assert reply.body["Message"].startswith("variants[0].message.buttons[0].label: ")

    body = templated()
    body["variants"][0]["message"]["localizations"]["fr"]["buttons"]["buy"] = "{{ x }}"
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 400
    assert reply.body["Message"].startswith(
        "variants[0].message.localizations.fr.buttons.buy: unknown variable"
    )

    body = templated()
    body["variants"][0]["message"]["localizations"]["fr"]["title"] = "{{ user_id"
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 400
    assert reply.body["Message"].startswith("variants[0].message.localizations.fr.title: ")


def test_a_patch_with_a_bad_template_changes_nothing(api, shop):
    engagement_id = create_engagement(api, shop, templated())
    path = f"{shop.path}/engagements/{engagement_id}"
    version = api.get(path, key=shop.admin_key).body["version"]
    before = store_snapshot()
    patch = {"variants": [{"key": "A", "message": {"layout": "modal", "title": "{{ nope }}"}}]}
    reply = api.patch(path, patch, key=shop.admin_key, If_Match=str(version))
    assert reply.status == 400
    assert reply.body["Message"].startswith("variants[0].message.title: unknown variable")
    assert store_snapshot() == before
