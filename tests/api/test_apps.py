"""Apps and keys through HTTP: who may call what, and keys that rotate."""

import pytest

from chalicelib.domain import keys
from tests.conftest import ROOT_KEY, make_app, store_snapshot


def test_root_creates_an_app_and_sees_its_keys_once(api):
    reply = api.post("/v1/apps", {"name": "Shop"}, key=ROOT_KEY)
    assert reply.status == 201
    assert set(reply.body) == {
        "app_id",
        "name",
        "admin_key",
        "client_key",
        "created_at",
        "web_origins",
        "pinpoint",
        "keys",
        "identity",
        "identity_secrets",
    }
    assert reply.body["name"] == "Shop"
    assert reply.headers["Cache-Control"] == "no-store"
    again = api.get(f"/v1/apps/{reply.body['app_id']}", key=reply.body["admin_key"])
    assert again.status == 200
    fingerprints = {
        kind: {
            "fingerprint": keys.hash_key(reply.body[f"{kind}_key"])[:16],
            "since": reply.body["created_at"],
            "previous": None,
        }
        for kind in ("admin", "client")
    }
    assert again.body == {
        "app_id": reply.body["app_id"],
        "name": "Shop",
        "created_at": reply.body["created_at"],
        "web_origins": [],
        "pinpoint": {"enabled": False},
        "keys": fingerprints,
        "identity": "off",
        "identity_secrets": [],
    }


def test_keys_are_stored_only_as_hashes(api, shop):
    stored = store_snapshot()["herald-dev-apps"]
    assert len(stored) == 1
    assert shop.admin_key not in stored[0] and shop.client_key not in stored[0]
    assert keys.hash_key(shop.admin_key) in stored[0]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Basic abc", "Bearer nope", f"Bearer {ROOT_KEY}x", ROOT_KEY],
    ids=["none", "empty-bearer", "basic", "wrong", "root-key-and-more", "without-bearer"],
)
def test_creating_an_app_needs_the_root_key(api, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    reply = api.post("/v1/apps", {"name": "Shop"}, **headers)
    assert reply.status == 401
    assert reply.body["Code"] == "UnauthorizedError"
    assert store_snapshot()["herald-dev-apps"] == []


def test_an_app_key_cannot_create_apps(api, shop):
    assert api.post("/v1/apps", {"name": "X"}, key=shop.admin_key).status == 401


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "body is required"),
        ([], 400, "JSON object"),
        ({}, 400, "name"),
        ({"name": ""}, 400, "name"),
        ({"name": 42}, 400, "name"),
        ({"name": "Shop", "colour": "red"}, 400, "colour: unknown field"),
        ({"name": "x" * 70_000}, 413, "limit"),
    ],
)
def test_bad_app_bodies_are_refused_and_store_nothing(api, body, status, fragment):
    reply = api.post("/v1/apps", body, key=ROOT_KEY)
    assert reply.status == status
    assert fragment in reply.body["Message"]
    assert store_snapshot()["herald-dev-apps"] == []


def test_root_key_manages_any_app_and_learns_unknown_ones_are_missing(api, shop):
    assert api.get(shop.path, key=ROOT_KEY).status == 200
    assert api.get("/v1/apps/app0000000000000000", key=ROOT_KEY).status == 404


def test_a_key_of_one_app_never_works_on_another(api, shop, other_shop):
    for key in (other_shop.admin_key, other_shop.client_key):
        reply = api.get(shop.path, key=key)
        assert reply.status == 403
        assert reply.body == {
            "Code": "ForbiddenError",
            "Message": "this key belongs to another app",
        }
    assert api.get(shop.path + "/engagements", key=other_shop.admin_key).status == 403


def test_the_client_key_cannot_manage_its_app(api, shop):
    reply = api.get(shop.path, key=shop.client_key)
    assert reply.status == 403
    assert "admin key" in reply.body["Message"]


@pytest.mark.parametrize("authorization", [None, "Bearer garbage", "Bearer herald_admin_"])
def test_missing_or_wrong_keys_are_unauthorized(api, shop, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    reply = api.get(shop.path, **headers)
    assert reply.status == 401
    assert "app_id" not in reply.body


def test_a_forged_key_naming_the_app_is_unauthorized(api, shop):
    forged = keys.new_key(keys.ADMIN, shop.app_id)
    assert api.get(shop.path, key=forged).status == 401


def test_an_unknown_app_id_is_answered_like_any_other_app_not_the_keys_own(api, shop):
    assert api.get("/v1/apps/app0000000000000000", key=shop.admin_key).status == 403
    stranger = keys.new_key(keys.ADMIN, "app0000000000000000")
    assert api.get("/v1/apps/app0000000000000000", key=stranger).status == 401


def test_rotation_without_a_body_replaces_both_keys(api, shop):
    """SPEC §7.4 changed this: the old client key keeps working for 7 days (tests/api/
    test_keys.py), the old admin key stops at once."""
    reply = api.post(shop.path + "/keys/rotate", key=shop.admin_key)
    assert reply.status == 200
    assert set(reply.body) >= {"app_id", "admin_key", "client_key"}
    assert reply.body["admin_key"] != shop.admin_key
    assert api.get(shop.path, key=shop.admin_key).status == 401
    assert api.get(shop.path, key=reply.body["admin_key"]).status == 200
    stored = store_snapshot()["herald-dev-apps"][0]
    assert keys.hash_key(reply.body["client_key"]) in stored
    assert keys.hash_key(shop.admin_key) not in stored


def test_rotating_another_apps_keys_is_forbidden(api, shop, other_shop):
    before = store_snapshot()
    assert api.post(shop.path + "/keys/rotate", key=other_shop.admin_key).status == 403
    assert store_snapshot() == before


def test_each_app_gets_its_own_id(api):
    assert make_app(api, "A").app_id != make_app(api, "B").app_id
