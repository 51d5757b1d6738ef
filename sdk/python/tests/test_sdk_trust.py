"""The trust routes through the SDK, against a real local Herald: keys rotated one kind at a
time with an overlap, identity verification with `user_token`, and enrolled test devices with
their token and enrolment link."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import REPO, engagement_spec, iso
from herald_sdk import BadRequest, DeviceClient, Enrolment, Herald, Unauthorized, user_token


def test_the_client_key_rotates_alone_and_the_old_one_works_through_its_overlap(shop):
    keys = shop.admin.rotate_keys(kind="client", overlap_hours=24)

    assert keys.admin_key is None and keys.client_key
    assert keys.previous_client_key_expires_at
    with DeviceClient(shop.url, keys.client_key) as renewed:
        renewed.register("d-1")
    shop.device.register("d-2")  # the shipped builds' key, within its overlap
    view = shop.admin.get_app()
    assert view.keys["client"].previous.expires_at == keys.previous_client_key_expires_at
    assert keys.client_key not in view.model_dump_json()  # fingerprints only


def test_an_admin_key_rotated_without_overlap_stops_at_once(shop):
    keys = shop.admin.rotate_keys(kind="admin", overlap_hours=0)

    with pytest.raises(Unauthorized):
        shop.admin.get_app()
    with Herald(shop.url, admin_key=keys.admin_key) as renewed:
        assert renewed.get_app().keys["admin"].previous is None


def test_with_identity_required_a_user_id_needs_its_user_token(shop):
    identity = shop.admin.require_identity()
    assert identity.identity == "required" and identity.identity_secret

    with pytest.raises(Unauthorized):
        shop.device.register("d-1", user_id="u-42")
    with pytest.raises(Unauthorized):
        shop.device.register("d-1", user_id="u-42", user_token=user_token("guess", "u-42"))
    token = user_token(identity.identity_secret, "u-42")
    assert shop.device.register("d-1", user_id="u-42", user_token=token).user_id == "u-42"
    assert shop.admin.get_app().identity == "required"
    assert identity.identity_secret not in shop.admin.get_app().model_dump_json()

    assert shop.admin.disable_identity().identity == "off"
    shop.device.register("d-2", user_id="u-43")


def test_an_enrolled_test_device_sees_its_draft_with_its_token_only(shop):
    enrolled = shop.admin.enrol_test_device("qa-phone-1", "Ana's phone")
    assert enrolled.test_token
    soon = datetime.now(UTC) + timedelta(days=20)
    schedule = {"start_at": iso(soon), "end_at": iso(soon + timedelta(days=1))}
    spec = engagement_spec("Black Friday", schedule=schedule, test_device_ids=["qa-phone-1"])
    draft = shop.admin.create_engagement(spec, draft=True)
    link = Enrolment(shop.app_id, "qa-phone-1", enrolled.test_token).link
    on_device = Enrolment.from_link(link)  # what the test build reads from the link

    assert shop.device.fetch("qa-phone-1").messages == []
    shown = shop.device.fetch(on_device.device_id, test_token=on_device.test_token).messages
    assert [message.engagement_id for message in shown] == [draft.engagement_id]
    assert [(d.device_id, d.test_token) for d in shop.admin.list_test_devices()] == [
        ("qa-phone-1", None)  # the token is never shown again
    ]

    shop.admin.withdraw_test_device("qa-phone-1")
    assert shop.admin.list_test_devices() == []
    assert shop.device.fetch("qa-phone-1", test_token=on_device.test_token).messages == []
    with pytest.raises(BadRequest):  # an engagement may name enrolled devices only
        shop.admin.create_engagement(engagement_spec("Again", test_device_ids=["qa-phone-1"]))


LINK_CASES = json.loads((REPO / "sdk" / "shared" / "enrolment-links.json").read_text())["cases"]


@pytest.mark.parametrize("case", LINK_CASES, ids=[case["name"] for case in LINK_CASES])
def test_enrolment_links_read_as_the_shared_table_says(case):
    if case["enrolment"] is None:
        with pytest.raises(ValueError):
            Enrolment.from_link(case["link"])
    else:
        assert Enrolment.from_link(case["link"]) == Enrolment(**case["enrolment"])


def test_an_enrolment_link_round_trips():
    enrolment = Enrolment("app1", "qa.phone:1_x", "herald_test_" + "a" * 64)
    assert Enrolment.from_link(enrolment.link) == enrolment


def test_the_command_rotates_keys_requires_identity_and_enrols_test_devices(herald_cli, shop):
    env = {"HERALD_URL": shop.url, "HERALD_ADMIN_KEY": shop.created.admin_key}

    rotated = herald_cli("keys", "rotate", "--kind", "client", "--json", **env)
    assert rotated.exit_code == 0, rotated.stderr
    assert set(json.loads(rotated.stdout)) == {
        "app_id",
        "client_key",
        "previous_client_key_expires_at",
    }
    required = herald_cli("identity", "require", "--overlap-hours", "0", **env)
    assert required.exit_code == 0 and "identity required; secret" in required.stdout
    enrolled = herald_cli("test-devices", "enrol", "qa-phone-1", "--label", "QA", "--json", **env)
    assert enrolled.exit_code == 0, enrolled.stderr
    answer = json.loads(enrolled.stdout)
    assert Enrolment.from_link(answer["enrolment_link"]).test_token == answer["test_token"]
    listed = herald_cli("test-devices", "list", **env)
    assert "qa-phone-1" in listed.stdout and answer["test_token"] not in listed.stdout
    assert herald_cli("test-devices", "withdraw", "qa-phone-1", **env).exit_code == 0
    missing = herald_cli("test-devices", "withdraw", "qa-phone-1", **env)
    assert missing.exit_code != 0 and "no enrolled test device" in missing.stderr
    assert herald_cli("identity", "off", **env).exit_code == 0
