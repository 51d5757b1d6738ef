"""PATCH /v1/apps/{app_id}: a JSON merge patch of the app's settings (name, web_origins)."""

import pytest

from tests.conftest import ROOT_KEY, store_snapshot


def test_the_app_starts_with_no_web_origins(api, shop):
    assert api.get(shop.path, key=shop.admin_key).body["web_origins"] == []


def test_web_origins_are_set_replaced_and_removed(api, shop):
    origins = ["https://shop.example.com", "http://localhost:5173", "https://[::1]:8443"]
    reply = api.patch(shop.path, {"web_origins": origins}, key=shop.admin_key)
    assert reply.status == 200, reply.body
    assert reply.body["web_origins"] == origins
    assert reply.body["name"] == "Shop"
    assert api.get(shop.path, key=shop.admin_key).body == reply.body

    replaced = api.patch(shop.path, {"web_origins": ["https://m.example.com"]}, key=shop.admin_key)
    assert replaced.body["web_origins"] == ["https://m.example.com"]

    removed = api.patch(shop.path, {"web_origins": None}, key=shop.admin_key)
    assert removed.status == 200
    assert api.get(shop.path, key=shop.admin_key).body["web_origins"] == []


def test_the_name_changes_and_the_rest_stays(api, shop):
    api.patch(shop.path, {"web_origins": ["https://shop.example.com"]}, key=shop.admin_key)
    reply = api.patch(shop.path, {"name": "  Shop EU "}, key=shop.admin_key)
    assert reply.status == 200
    assert reply.body["name"] == "Shop EU"
    assert reply.body["web_origins"] == ["https://shop.example.com"]
    assert set(reply.body) == {
        "app_id",
        "name",
        "created_at",
        "web_origins",
        "keys",
        "identity",
        "identity_secrets",
        "pinpoint",
    }


def test_an_empty_patch_changes_nothing(api, shop):
    before = store_snapshot()
    reply = api.patch(shop.path, {}, key=shop.admin_key)
    assert reply.status == 200
    assert reply.body["name"] == "Shop"
    assert store_snapshot() == before


def test_the_root_key_may_patch_any_app(api, shop):
    reply = api.patch(shop.path, {"web_origins": ["https://a.example"]}, key=ROOT_KEY)
    assert reply.status == 200
    assert reply.body["web_origins"] == ["https://a.example"]


def test_keys_of_the_app_still_work_after_a_patch(api, shop):
    api.patch(shop.path, {"name": "Renamed"}, key=shop.admin_key)
    assert api.get(shop.path, key=shop.admin_key).status == 200
    device = api.put(shop.path + "/devices/d-1", {}, X_Client_Key=shop.client_key)
    assert device.status == 201


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "body is required"),
        ([], 400, "JSON object"),
        ({"name": None}, 400, "name"),
        ({"name": ""}, 400, "name"),
        ({"name": 7}, 400, "name"),
        ({"app_id": "app-other"}, 400, "app_id: unknown field"),
        ({"admin_key_hash": "x"}, 400, "unknown field"),
        ({"web_origins": "https://shop.example.com"}, 400, "web_origins"),
        ({"web_origins": [42]}, 400, "web_origins[0]"),
        ({"web_origins": ["*"]}, 400, "web_origins[0]"),
        ({"web_origins": ["https://*.example.com"]}, 400, "wildcards"),
        ({"web_origins": ["https://shop.example.com/"]}, 400, "'https://shop.example.com'"),
        ({"web_origins": ["https://shop.example.com/app"]}, 400, "no path"),
        ({"web_origins": ["https://Shop.Example.com"]}, 400, "'https://shop.example.com'"),
        ({"web_origins": ["HTTPS://shop.example.com"]}, 400, "'https://shop.example.com'"),
        ({"web_origins": ["https://shop.example.com:443"]}, 400, "'https://shop.example.com'"),
        ({"web_origins": ["https://shop.example.com:99999"]}, 400, "port"),
        ({"web_origins": ["https://user:pw@shop.example.com"]}, 400, "user name"),
        ({"web_origins": ["https://bücher.example"]}, 400, "punycode"),
        ({"web_origins": ["ftp://shop.example.com"]}, 400, "origin"),
        ({"web_origins": ["null"]}, 400, "origin"),
        ({"web_origins": ["shop.example.com"]}, 400, "origin"),
        ({"web_origins": ["https://a.example", "https://a.example"]}, 400, "twice"),
        ({"web_origins": [f"https://s{i}.example.com" for i in range(21)]}, 400, "20"),
        ({"web_origins": ["https://" + "a" * 300 + ".com"]}, 400, "web_origins[0]"),
        ({"name": "x" * 70_000}, 413, "limit"),
    ],
)
def test_bad_patches_are_refused_and_change_nothing(api, shop, body, status, fragment):
    before = store_snapshot()
    reply = api.patch(shop.path, body, key=shop.admin_key)
    assert reply.status == status, reply.body
    assert fragment in reply.body["Message"]
    assert store_snapshot() == before


def test_twenty_origins_are_allowed(api, shop):
    origins = [f"https://s{i}.example.com" for i in range(20)]
    reply = api.patch(shop.path, {"web_origins": origins}, key=shop.admin_key)
    assert reply.status == 200
    assert reply.body["web_origins"] == origins


def test_patching_needs_this_apps_admin_key(api, shop, other_shop):
    before = store_snapshot()
    body = {"web_origins": ["https://evil.example"]}
    assert api.patch(shop.path, body).status == 401
    assert api.patch(shop.path, body, key="nope").status == 401
    assert api.patch(shop.path, body, key=other_shop.admin_key).status == 403
    assert api.patch(shop.path, body, X_Client_Key=shop.client_key).status == 401
    assert api.patch(shop.path, body, key=shop.client_key).status == 403
    assert store_snapshot() == before


def test_an_unknown_app_is_404_for_the_root_key(api):
    reply = api.patch("/v1/apps/app-nope", {"name": "X"}, key=ROOT_KEY)
    assert reply.status == 404
