"""The dialect's routes through Chalice's test client: the switch, the merge of UpdateEndpoint,
and every bad input answered 4xx in Pinpoint's shape with nothing changed."""

import json
from datetime import UTC, datetime

import boto3
import pytest

from chalicelib.settings import get_settings
from tests.api.device_helpers import live_engagement
from tests.conftest import store_snapshot


@pytest.fixture
def enabled(api, shop):
    reply = api.patch(shop.path, {"pinpoint": {"enabled": True}}, key=shop.admin_key)
    assert reply.status == 200, reply.body
    assert reply.body["pinpoint"] == {"enabled": True}
    return shop


def endpoint_path(shop, endpoint_id="ep-1"):
    return f"{shop.path}/endpoints/{endpoint_id}"


def queued_messages() -> int:
    settings = get_settings()
    sqs = boto3.client("sqs", region_name=settings.region)
    url = sqs.get_queue_url(QueueName=settings.events_queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def assert_pinpoint_error(reply, status: int, kind: str, says: str = ""):
    assert reply.status == status, reply.body
    assert reply.headers["x-amzn-ErrorType"] == kind
    assert reply.body["message"] == reply.body["Message"]
    assert says in reply.body["message"], reply.body
    assert reply.body["RequestID"] == reply.headers["x-amzn-RequestId"]


def event(event_type="purchase", **extra):
    return {"EventType": event_type, "Timestamp": datetime.now(UTC).isoformat(), **extra}


# --- the switch --------------------------------------------------------------------------------


def test_the_dialect_is_off_until_the_owner_turns_it_on(api, shop):
    assert api.get(shop.path, key=shop.admin_key).body["pinpoint"] == {"enabled": False}
    before = store_snapshot()
    calls = [
        api.put(endpoint_path(shop), {"ChannelType": "IN_APP"}),
        api.get(endpoint_path(shop) + "/inappmessages"),
        api.post(shop.path + "/events", {"BatchItem": {"ep-1": {"Endpoint": {}, "Events": {}}}}),
    ]
    for reply in calls:
        assert_pinpoint_error(reply, 403, "ForbiddenException", "not enabled")
    assert store_snapshot() == before

    api.patch(shop.path, {"pinpoint": {"enabled": True}}, key=shop.admin_key)
    assert api.put(endpoint_path(shop), {"ChannelType": "IN_APP"}).status == 202
    off = api.patch(shop.path, {"pinpoint": {"enabled": False}}, key=shop.admin_key)
    assert off.body["pinpoint"] == {"enabled": False}
    assert api.get(endpoint_path(shop) + "/inappmessages").status == 403


def test_the_switch_is_validated_like_every_setting(api, shop):
    before = store_snapshot()
    for patch in ({"pinpoint": {"enabled": "yes"}}, {"pinpoint": {"on": True}}, {"pinpoint": 1}):
        reply = api.patch(shop.path, patch, key=shop.admin_key)
        assert reply.status == 400, (patch, reply.body)
        assert "pinpoint" in reply.body["Message"]
    assert store_snapshot() == before


def test_an_unknown_or_malformed_app_id_is_refused_alike(api, enabled):
    for app_id in ("app" + "0" * 28, "not-an-app", enabled.app_id[:-1] + "x"):
        reply = api.get(f"/v1/apps/{app_id}/endpoints/ep-1/inappmessages")
        assert_pinpoint_error(reply, 403, "ForbiddenException", "not enabled")


# --- UpdateEndpoint ----------------------------------------------------------------------------


def device(api, shop, device_id="ep-1") -> dict:
    explained = api.get(f"{shop.path}/devices/{device_id}/messages/explain", key=shop.admin_key)
    return explained.body


def test_updates_merge_into_the_endpoint_as_pinpoints_do(api, enabled):
    created = api.put(
        endpoint_path(enabled),
        {
            "ChannelType": "IN_APP",
            "Demographic": {"Locale": "fr-FR", "Platform": "MacIntel", "Timezone": "Europe/Paris"},
            "Attributes": {"plan": ["gold"], "interests": ["shoes", "bags"]},
            "Metrics": {"visits": 3.0},
        },
    )
    assert created.status == 202
    assert created.body["Message"] == "Accepted"
    user = {"User": {"UserId": "u-1", "UserAttributes": {"herald_user_token": ["t"], "vip": ["y"]}}}
    assert api.put(endpoint_path(enabled), user).status == 202

    engagement = live_engagement(
        "Gold in France",
        audience={"user_ids": ["u-1"]},
    )
    assert api.post(enabled.path + "/engagements", engagement, key=enabled.admin_key).status == 201
    audience = {
        "name": "Gold web",
        "rules": {
            "all": [
                {"attribute": "platform", "op": "eq", "value": "web"},
                {"attribute": "locale", "op": "eq", "value": "fr-FR"},
                {"attribute": "timezone", "op": "eq", "value": "Europe/Paris"},
                {"attribute": "attributes.plan", "op": "eq", "value": "gold"},
                {"attribute": "attributes.interests", "op": "contains", "value": "bags"},
                {"attribute": "attributes.visits", "op": "gte", "value": 3},
                {"attribute": "attributes.vip", "op": "eq", "value": "y"},
                {"attribute": "attributes.herald_user_token", "op": "not_exists"},
            ]
        },
    }
    made = api.post(enabled.path + "/audiences", audience, key=enabled.admin_key)
    assert made.status == 201, made.body
    targeted = live_engagement("Rules", audience={"audience_ids": [made.body["audience_id"]]})
    rule_id = api.post(enabled.path + "/engagements", targeted, key=enabled.admin_key).body[
        "engagement_id"
    ]
    campaigns = api.get(endpoint_path(enabled) + "/inappmessages").body["InAppMessageCampaigns"]
    assert rule_id in [campaign["CampaignId"] for campaign in campaigns]
    assert len(campaigns) == 2  # the user-targeted one too: the user id was kept


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        ({"Attributes": {"plan": "gold"}}, "Attributes.plan"),
        ({"Demographic": {"Locale": 42}}, "Demographic.Locale"),
        ({"Demographic": {"Timezone": "Mars/Olympus"}}, "timezone"),
        ({"Demographic": {"Locale": "not a locale"}}, "Demographic.Locale"),
        ({"Metrics": {"visits": "three"}}, "Metrics.visits"),
        ({"User": {"UserId": 7}}, "User.UserId"),
        ({"Colour": "blue"}, "Colour: unknown field"),
        ({"Attributes": {"bad name": ["x"]}}, "Attributes.bad name"),
        ({"Attributes": {f"a{n}": ["x"] for n in range(51)}}, "attributes"),
    ],
)
def test_a_bad_update_is_a_400_that_changes_nothing(api, enabled, body, says):
    before = store_snapshot()
    raw = body if isinstance(body, bytes) else json.dumps(body)
    assert_pinpoint_error(api.put(endpoint_path(enabled), raw), 400, "BadRequestException", says)
    assert store_snapshot() == before


def test_an_oversize_update_or_a_bad_endpoint_id_changes_nothing(api, enabled):
    before = store_snapshot()
    huge = {"Attributes": {"blob": ["x" * 1000] * 70}}
    assert_pinpoint_error(
        api.put(endpoint_path(enabled), huge), 413, "PayloadTooLargeException", "limit"
    )
    bad_id = api.put(endpoint_path(enabled, "a%20b"), {"ChannelType": "IN_APP"})
    assert_pinpoint_error(bad_id, 400, "BadRequestException", "device_id")
    assert store_snapshot() == before


# --- GetInAppMessages --------------------------------------------------------------------------


def test_an_unknown_endpoint_gets_an_empty_list_and_nothing_is_recorded(api, enabled):
    api.post(enabled.path + "/engagements", live_engagement("Hi"), key=enabled.admin_key)
    before = store_snapshot()
    reply = api.get(endpoint_path(enabled, "never-registered") + "/inappmessages")
    assert (reply.status, reply.body) == (200, {"InAppMessageCampaigns": []})
    assert store_snapshot() == before
    assert queued_messages() == 0


def test_explain_names_the_dialect_and_refuses_an_unknown_one(api, enabled):
    api.put(endpoint_path(enabled), {"ChannelType": "IN_APP"})
    path = f"{enabled.path}/devices/ep-1/messages/explain"
    answer = api.get(path + "?dialect=pinpoint", key=enabled.admin_key).body
    assert (answer["event"], answer["dialect"]) == (None, "pinpoint")
    unknown = api.get(path + "?dialect=firebase", key=enabled.admin_key)
    assert unknown.status == 400
    assert "dialect" in unknown.body["Message"]


# --- PutEvents ---------------------------------------------------------------------------------


def put_events(api, shop, batch):
    return api.post(shop.path + "/events", {"BatchItem": batch})


def test_one_bad_event_fails_alone(api, enabled):
    api.put(endpoint_path(enabled), {"ChannelType": "IN_APP"})
    events = {
        "good": event(Attributes={"sku": "s-1"}, Metrics={"price": 9.5}),
        "bad-time": event(Timestamp="yesterday"),
        "bad-type": {"EventType": 5, "Timestamp": datetime.now(UTC).isoformat()},
        "no-campaign": event("_inapp.message_displayed"),
        "far-future": event(Timestamp="2030-01-01T00:00:00Z"),
        "not an id!": event(),
        "extra": event(Colour="blue"),
        "not-object": [1],
    }
    reply = put_events(api, enabled, {"ep-1": {"Endpoint": {}, "Events": events}})
    assert reply.status == 202, reply.body
    results = reply.body["Results"]["ep-1"]["EventsItemResponse"]
    assert {event_id: result["StatusCode"] for event_id, result in results.items()} == {
        "good": 202,
        "bad-time": 400,
        "bad-type": 400,
        "no-campaign": 400,
        "far-future": 400,
        "not an id!": 400,
        "extra": 400,
        "not-object": 400,
    }
    assert "Timestamp" in results["bad-time"]["Message"]
    assert "EventType" in results["bad-type"]["Message"]
    assert "campaign_id" in results["no-campaign"]["Message"]
    assert "24 hours" in results["far-future"]["Message"]
    assert "event id" in results["not an id!"]["Message"]
    assert queued_messages() == 1


def test_a_bad_endpoint_fails_its_events_only(api, enabled):
    batch = {
        "bad id!": {"Endpoint": {}, "Events": {"e-1": event()}},
        "ep-2": {"Endpoint": {"Demographic": {"Timezone": "Nowhere"}}, "Events": {"e-2": event()}},
        "ep-3": {"Endpoint": {}, "Events": "none"},
        "ep-4": {"Endpoint": {"Demographic": {"Locale": "de-DE"}}, "Events": {"e-4": event()}},
    }
    reply = put_events(api, enabled, batch)
    assert reply.status == 202
    results = reply.body["Results"]
    assert results["bad id!"]["EventsItemResponse"]["e-1"]["StatusCode"] == 400
    assert results["ep-2"]["EndpointItemResponse"]["StatusCode"] == 400
    assert results["ep-2"]["EventsItemResponse"]["e-2"]["StatusCode"] == 400
    assert results["ep-3"]["EndpointItemResponse"]["StatusCode"] == 400
    assert results["ep-4"]["EventsItemResponse"]["e-4"]["StatusCode"] == 202
    assert device(api, enabled, "ep-4")["registered"] is True  # its Endpoint was applied
    assert device(api, enabled, "ep-2")["registered"] is False


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"BatchItem": {"ep-1": {"Events": {f"e-{n}": event() for n in range(101)}}}}, 400, "100"),
        ({"BatchItem": []}, 400, "BatchItem"),
        ({"BatchItem": {}}, 400, "BatchItem"),
        ({"BatchItem": {"ep-1": {"Events": {}}}, "Extra": 1}, 400, "Extra"),
    ],
)
def test_a_bad_batch_is_refused_whole(api, enabled, body, status, says):
    before = store_snapshot()
    reply = api.post(enabled.path + "/events", body)
    assert_pinpoint_error(reply, status, "BadRequestException", says)
    assert store_snapshot() == before
    assert queued_messages() == 0


def test_an_oversize_batch_is_a_413(api, enabled):
    big = {"BatchItem": {"ep-1": {"Events": {"e-1": event(Attributes={"x": "y" * 300_000})}}}}
    assert_pinpoint_error(
        api.post(enabled.path + "/events", big), 413, "PayloadTooLargeException", "limit"
    )
    assert queued_messages() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"{oops",
        b"[1]",
        {"events": [], "BatchItem": {}},
        {"something": "else"},
    ],
)
def test_a_body_of_neither_dialect_or_both_is_a_400_in_both_shapes(api, enabled, body):
    before = store_snapshot()
    raw = body if isinstance(body, bytes) else json.dumps(body)
    reply = api.post(enabled.path + "/events", raw, X_Client_Key=enabled.client_key)
    assert_pinpoint_error(reply, 400, "BadRequestException")
    assert reply.body["Code"] == "BadRequestError"  # Herald's shape too
    assert store_snapshot() == before
    assert queued_messages() == 0


def test_herald_events_keep_their_own_route_and_shape(api, enabled):
    herald = {
        "events": [
            {
                "id": "h-1",
                "device_id": "d-1",
                "type": "custom",
                "name": "purchase",
                "timestamp": datetime.now(UTC).isoformat(),
            }
        ]
    }
    reply = api.post(enabled.path + "/events", herald, X_Client_Key=enabled.client_key)
    assert (reply.status, reply.body) == (202, {"accepted": 1})
    no_key = api.post(enabled.path + "/events", herald)
    assert no_key.status == 401
    assert "x-amzn-ErrorType" not in no_key.headers


def test_an_unreachable_queue_is_a_429_per_event_so_amplify_resends(api, enabled):
    settings = get_settings()
    sqs = boto3.client("sqs", region_name=settings.region)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=settings.events_queue)["QueueUrl"])
    batch = {"ep-1": {"Endpoint": {}, "Events": {"e-1": event(), "bad": event(Timestamp="x")}}}
    reply = put_events(api, enabled, batch)
    assert reply.status == 202
    results = reply.body["Results"]["ep-1"]["EventsItemResponse"]
    assert (results["e-1"]["StatusCode"], results["bad"]["StatusCode"]) == (429, 400)
    assert "queue" in results["e-1"]["Message"]
