"""Device registration through HTTP with the client key."""

import pytest

from tests.conftest import store_snapshot

DEVICE = {
    "user_id": "u-42",
    "platform": "ios",
    "os_version": "18.1",
    "app_version": "2.4.0",
    "locale": "fr-FR",
    "timezone": "Europe/Paris",
    "attributes": {"plan": "gold", "visits": 3, "beta": True},
}


def test_first_registration_is_201_then_200(api, shop):
    path = f"{shop.path}/devices/d-1"
    first = api.put(path, DEVICE, X_Client_Key=shop.client_key)
    assert first.status == 201
    assert first.body == {"device_id": "d-1", "app_id": shop.app_id, **DEVICE}
    again = api.put(path, {**DEVICE, "app_version": "2.5.0"}, X_Client_Key=shop.client_key)
    assert again.status == 200
    assert again.body["app_version"] == "2.5.0"


def test_a_registration_replaces_the_previous_one(api, shop):
    path = f"{shop.path}/devices/d-1"
    api.put(path, DEVICE, X_Client_Key=shop.client_key)
    api.put(path, {"platform": "android"}, X_Client_Key=shop.client_key)
    devices = store_snapshot()["herald-dev-devices"]
    assert len(devices) == 1
    assert '"platform": {"S": "android"}' in devices[0]
    assert "u-42" not in devices[0] and "gold" not in devices[0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "windows"}, "platform"),
        ({"locale": "french"}, "locale"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"user_id": ""}, "user_id"),
        ({"app_version": 240}, "app_version"),
        ({"attributes": {f"k{i}": i for i in range(51)}}, "attributes"),
        ({"attributes": {"nested": {"a": 1}}}, "attributes.nested"),
        ({"attributes": {"big": "x" * 1000, **{f"k{i}": "y" * 1000 for i in range(9)}}}, "8 KiB"),
        ({"attributes": {"bad key!": 1}}, "attributes"),
        ({"serial": "123"}, "serial: unknown field"),
    ],
)
def test_invalid_registrations_name_the_field_and_store_nothing(api, shop, body, field):
    before = store_snapshot()
    reply = api.put(f"{shop.path}/devices/d-1", body, X_Client_Key=shop.client_key)
    assert reply.status == 400
    assert field in reply.body["Message"]
    assert store_snapshot() == before


def test_an_invalid_device_id_is_refused(api, shop):
    reply = api.put(f"{shop.path}/devices/" + "x" * 200, DEVICE, X_Client_Key=shop.client_key)
    assert reply.status == 400 and "device_id" in reply.body["Message"]


def test_registration_needs_this_apps_client_key(api, shop, other_shop):
    path = f"{shop.path}/devices/d-1"
    before = store_snapshot()
    assert api.put(path, DEVICE).status == 401
    assert api.put(path, DEVICE, X_Client_Key="herald_client_nope").status == 401
    assert api.put(path, DEVICE, X_Client_Key=other_shop.client_key).status == 403
    assert api.put(path, DEVICE, X_Client_Key=shop.admin_key).status == 403
    assert store_snapshot() == before
