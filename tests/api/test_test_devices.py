"""Test devices are enrolled, not named (SPEC §7.2): a device id is no secret, so test content
goes only to a fetch carrying the device's test token, and test_device_ids name enrolled
devices only."""

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import keys
from tests.api.device_helpers import create_engagement, fetch, live_engagement, shown_ids
from tests.conftest import store_snapshot


def enrol(api, shop, device_id: str, label: str = "QA phone") -> str:
    reply = api.post(
        shop.path + "/test-devices", {"device_id": device_id, "label": label}, key=shop.admin_key
    )
    assert reply.status == 201, reply.body
    assert reply.headers["Cache-Control"] == "no-store"
    assert set(reply.body) == {"device_id", "label", "enrolled_at", "test_token"}
    return reply.body["test_token"]


def black_friday_draft(test_device_ids: list[str]) -> dict:
    """The draft an attacker read in the issue: unreleased, starting in 20 days."""
    now = datetime.now(UTC)
    return live_engagement(
        "-70% on everything, code BF70",
        status="draft",
        schedule={
            "start_at": (now + timedelta(days=20)).isoformat(),
            "end_at": (now + timedelta(days=21)).isoformat(),
        },
        test_device_ids=test_device_ids,
    )


def test_an_unenrolled_test_device_id_is_refused(api, shop):
    reply = api.post(
        shop.path + "/engagements", black_friday_draft(["qa-phone-1"]), key=shop.admin_key
    )
    assert reply.status == 400
    assert "test_device_ids: qa-phone-1 not enrolled" in reply.body["Message"]
    assert store_snapshot()["herald-dev-engagements"] == []


def test_drafts_go_only_to_the_fetch_with_that_devices_test_token(api, shop):
    token = enrol(api, shop, "qa-phone-1")
    other_token = enrol(api, shop, "qa-phone-2")
    draft = create_engagement(api, shop, black_friday_draft(["qa-phone-1"]))

    assert shown_ids(api, shop, "qa-phone-1") == []  # the attack: the device id alone
    assert shown_ids(api, shop, "qa-phone-1", test_token="herald_test_" + "0" * 64) == []
    assert shown_ids(api, shop, "qa-phone-1", test_token=other_token) == []
    assert shown_ids(api, shop, "qa-phone-2", test_token=other_token) == []  # not its draft
    [message] = fetch(api, shop, "qa-phone-1", test_token=token)["messages"]
    assert (message["engagement_id"], message["test"]) == (draft, True)


def test_enrolled_devices_are_listed_without_tokens_and_withdrawn(api, shop):
    token = enrol(api, shop, "qa-phone-1", "Ana's iPhone")
    enrol(api, shop, "qa-tablet")
    draft = create_engagement(api, shop, black_friday_draft(["qa-phone-1"]))

    listed = api.get(shop.path + "/test-devices", key=shop.admin_key)
    assert [d["device_id"] for d in listed.body["test_devices"]] == ["qa-phone-1", "qa-tablet"]
    assert listed.body["test_devices"][0]["label"] == "Ana's iPhone"
    assert token not in str(listed.body) and token not in str(store_snapshot())
    assert keys.hash_key(token) in str(store_snapshot()["herald-dev-apps"])

    assert api.delete(shop.path + "/test-devices/qa-phone-1", key=shop.admin_key).status == 204
    assert shown_ids(api, shop, "qa-phone-1", test_token=token) == []
    assert api.delete(shop.path + "/test-devices/qa-phone-1", key=shop.admin_key).status == 404
    # the engagement still names it: editing something else stays possible
    patched = api.patch(
        f"{shop.path}/engagements/{draft}",
        {"priority": 3},
        key=shop.admin_key,
        If_Match="1",
    )
    assert patched.status == 200, patched.body
    refused = api.patch(
        f"{shop.path}/engagements/{draft}",
        {"test_device_ids": ["qa-phone-1", "qa-phone-9"]},
        key=shop.admin_key,
        If_Match="2",
    )
    assert refused.status == 400 and "qa-phone-9" in refused.body["Message"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"device_id": "qa-1"}, 400, "label"),
        ({"device_id": "bad id!", "label": "x"}, 400, "device_id"),
        ({"device_id": "qa-1", "label": ""}, 400, "label"),
        ({"device_id": "qa-1", "label": "x", "token": "mine"}, 400, "unknown field"),
        (b"{", 400, "JSON"),
        ({"device_id": "qa-phone-1", "label": "again"}, 409, "enrolled already"),
    ],
)
def test_bad_enrolments_are_refused_and_change_nothing(api, shop, body, status, fragment):
    enrol(api, shop, "qa-phone-1")
    before = store_snapshot()
    reply = api.post(shop.path + "/test-devices", body, key=shop.admin_key)
    assert reply.status == status, reply.body
    assert fragment in reply.body["Message"]
    assert store_snapshot() == before


def test_test_devices_are_for_this_apps_admins_only(api, shop, other_shop):
    path = shop.path + "/test-devices"
    body = {"device_id": "qa-1", "label": "x"}
    assert api.post(path, body, X_Client_Key=shop.client_key).status == 401
    assert api.post(path, body, key=shop.client_key).status == 403
    assert api.post(path, body, key=other_shop.admin_key).status == 403
    assert api.get(path, key=other_shop.admin_key).status == 403
