"""Identity verification (SPEC §7.1): with `identity: required`, a user id counts only with the
user_token the app's backend derives from it; an unproven device is anonymous."""

import hashlib
import hmac
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chalicelib.services import clock
from tests.api.device_helpers import create_engagement, live_engagement, shown_ids
from tests.conftest import store_snapshot
from tests.pipeline.helpers import consume_all, event, metrics, post_events

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def require_identity(api, shop, body=None) -> dict:
    reply = api.post(shop.path + "/identity", body, key=shop.admin_key)
    assert reply.status == 200, reply.body
    assert reply.headers["Cache-Control"] == "no-store"
    return reply.body


def user_token(secret: str, user_id: str) -> str:
    """What the README tells the app's backend to compute (Python)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def register(api, shop, device_id: str, **fields):
    return api.put(f"{shop.path}/devices/{device_id}", fields, X_Client_Key=shop.client_key)


def for_the_victim() -> dict:
    window = {
        "start_at": (NOW - timedelta(hours=1)).isoformat(),
        "end_at": clock.iso(NOW + timedelta(days=7)),
    }
    return live_engagement(
        "Your refund",
        schedule=window,
        audience={"user_ids": ["u-victim"]},
        frequency={"max_impressions": 1},
    )


def test_a_claimed_user_id_without_its_token_is_refused(api, shop, at_now):
    eid = create_engagement(api, shop, for_the_victim())
    secret = require_identity(api, shop)["identity_secret"]
    before = store_snapshot()

    for fields in (
        {"user_id": "u-victim"},
        {"user_id": "u-victim", "user_token": "0" * 64},
        {"user_id": "u-victim", "user_token": user_token(secret, "u-attacker")},
        {"user_id": "u-victim", "user_token": user_token("guessed", "u-victim")},
    ):
        reply = register(api, shop, "attacker-dev", **fields)
        assert reply.status == 401, fields
        assert "user_token" in reply.body["Message"]
    assert store_snapshot() == before
    assert shown_ids(api, shop, "attacker-dev") == []

    proven = register(
        api, shop, "victim-phone", user_id="u-victim", user_token=user_token(secret, "u-victim")
    )
    assert proven.status == 201 and "user_token" not in proven.body
    assert shown_ids(api, shop, "victim-phone") == [eid]
    assert register(api, shop, "anonymous-dev", platform="ios").status == 201  # no user: fine


def test_an_unproven_device_is_anonymous_and_cannot_cap_the_victim(api, shop, at_now):
    eid = create_engagement(api, shop, for_the_victim())
    assert register(api, shop, "attacker-dev", user_id="u-victim").status == 201  # before
    secret = require_identity(api, shop)["identity_secret"]
    token = user_token(secret, "u-victim")
    assert register(api, shop, "victim-phone", user_id="u-victim", user_token=token).status == 201

    assert shown_ids(api, shop, "attacker-dev") == []  # no user-targeted message
    forged = event("attacker-dev", "impression", NOW, engagement_id=eid, variant="A")
    assert post_events(api, shop, [forged]).status == 202
    assert consume_all() == []

    assert shown_ids(api, shop, "victim-phone") == [eid]  # the victim is not capped
    assert metrics(api, shop, eid)["variants"][0]["impressions"] == 1  # counted for the device


def test_a_rotated_secret_works_for_its_overlap_then_its_devices_are_anonymous(api, shop, at_now):
    eid = create_engagement(api, shop, for_the_victim())
    first = require_identity(api, shop)["identity_secret"]
    token = user_token(first, "u-victim")
    assert register(api, shop, "old-phone", user_id="u-victim", user_token=token).status == 201

    rotated = require_identity(api, shop, {"overlap_hours": 24})
    assert [s["expires_at"] for s in rotated["identity_secrets"]] == [
        None,
        clock.iso(NOW + timedelta(hours=24)),
    ]
    assert register(api, shop, "new-phone", user_id="u-victim", user_token=token).status == 201
    assert shown_ids(api, shop, "old-phone") == [eid]
    at_now.shift(timedelta(hours=24))
    assert shown_ids(api, shop, "old-phone") == []  # proven by a secret that is gone
    assert register(api, shop, "old-phone", user_id="u-victim", user_token=token).status == 401
    second = user_token(rotated["identity_secret"], "u-victim")
    assert register(api, shop, "old-phone", user_id="u-victim", user_token=second).status == 200
    assert shown_ids(api, shop, "old-phone") == [eid]


def test_identity_off_trusts_user_ids_again_and_the_app_never_shows_secrets(api, shop, at_now):
    eid = create_engagement(api, shop, for_the_victim())
    enabled = require_identity(api, shop)
    app = api.get(shop.path, key=shop.admin_key).body
    assert app["identity"] == "required"
    assert app["identity_secrets"] == [{"secret_id": enabled["secret_id"], "expires_at": None}]
    assert enabled["identity_secret"] not in json.dumps(app)
    assert register(api, shop, "d-1", user_id="u-victim").status == 401

    assert require_identity(api, shop, {"identity": "off"}) == {"identity": "off"}
    assert register(api, shop, "d-1", user_id="u-victim").status == 201
    assert shown_ids(api, shop, "d-1") == [eid]
    assert api.get(shop.path, key=shop.admin_key).body["identity"] == "off"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"identity": "on"}, "identity"),
        ({"overlap_hours": -1}, "overlap_hours"),
        ({"overlap_hours": "24"}, "overlap_hours"),
        ({"identity": "off", "overlap_hours": 1}, "overlap_hours"),
        ({"secret": "mine"}, "unknown field"),
        (b"[1]", "JSON object"),
    ],
)
def test_bad_identity_bodies_are_400_and_change_nothing(api, shop, body, fragment):
    before = store_snapshot()
    reply = api.post(shop.path + "/identity", body, key=shop.admin_key)
    assert reply.status == 400, reply.body
    assert fragment in reply.body["Message"]
    assert store_snapshot() == before


def test_the_identity_route_is_for_this_apps_admins_only(api, shop, other_shop):
    path = shop.path + "/identity"
    assert api.post(path, X_Client_Key=shop.client_key).status == 401
    assert api.post(path, key=shop.client_key).status == 403
    assert api.post(path, key=other_shop.admin_key).status == 403


NODE_SNIPPET = """
const crypto = require("node:crypto");
const userToken = (secret, userId) =>
  crypto.createHmac("sha256", secret).update(userId).digest("hex");
process.stdout.write(userToken(process.argv[1], process.argv[2]));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="the README's Node lines need node")
def test_the_readmes_node_lines_compute_the_same_token_as_python(api, shop):
    secret = require_identity(api, shop)["identity_secret"]
    computed = subprocess.run(
        ["node", "-e", NODE_SNIPPET, secret, "u-42"], capture_output=True, text=True, check=True
    ).stdout
    assert computed == user_token(secret, "u-42")
    reply = register(api, shop, "d-1", user_id="u-42", user_token=computed)
    assert reply.status == 201


def test_an_amplify_app_proves_its_user_with_the_herald_user_token_attribute(api, shop, at_now):
    """The Pinpoint dialect's UpdateEndpoint goes through the same proof as register (SPEC §7.1)."""
    assert api.patch(shop.path, {"pinpoint": {"enabled": True}}, key=shop.admin_key).status == 200
    secret = require_identity(api, shop)["identity_secret"]
    engagement_id = create_engagement(api, shop, for_the_victim())
    path = f"{shop.path}/endpoints/ep-victim"

    def update(**attributes):
        user = {"UserId": "u-victim", "UserAttributes": attributes}
        return api.put(path, {"ChannelType": "IN_APP", "User": user})

    before = store_snapshot()
    for attempt in ({}, {"herald_user_token": [user_token(secret, "u-attacker")]}):
        reply = update(**attempt)
        # Pinpoint's shape has no 401: its refusals are 403 ForbiddenException
        assert (reply.status, reply.body["Code"]) == (403, "ForbiddenException"), reply.body
        assert "user_token" in reply.body["message"]
    assert store_snapshot() == before
    assert update(herald_user_token=[user_token(secret, "u-victim")]).status == 202
    campaigns = api.get(path + "/inappmessages").body["InAppMessageCampaigns"]
    assert [campaign["CampaignId"] for campaign in campaigns] == [engagement_id]
