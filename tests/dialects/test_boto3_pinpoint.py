"""boto3's own `pinpoint` client against the local Herald: UpdateEndpoint, GetInAppMessages and
PutEvents serialized and parsed by botocore, with an A/B engagement, a control group, a paused,
a capped, an audience-targeted, a localized one, and one Pinpoint's event filter cannot carry."""

import uuid
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.domain.assignment import assign, pick_variant
from tests.api.device_helpers import live_engagement
from tests.dialects.helpers import HeraldApp, variant_totals
from tests.local.waiting import wait_for

SPRING = {
    "A": {"title": "Spring sale", "fr": "Soldes", "layout": "MOBILE_FEED"},
    "B": {"title": "Sale: 20 % off", "fr": "Promo", "layout": "TOP_BANNER"},
}


def pinpoint_client(herald):
    return boto3.client(
        "pinpoint",
        endpoint_url=herald.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDFAKE",
        aws_secret_access_key="fake-secret",
        config=Config(retries={"max_attempts": 1}),
    )


def spring_sale() -> dict:
    def variant(key, layout, button):
        return {
            "key": key,
            "weight": 50,
            "message": {
                "layout": layout,
                "title": SPRING[key]["title"],
                "body": "20 % off today",
                "image_url": "https://cdn.example.com/sale.png",
                "background_color": "#FFFFFF",
                "text_color": "#111111",
                "buttons": button,
                "data": {"campaign": "spring"},
                "localizations": {"fr": {"title": SPRING[key]["fr"]}},
            },
        }

    buy = {"id": "buy", "label": "Shop now", "action": {"type": "deep_link", "target": "shop://s"}}
    later = {"id": "later", "label": "Later", "action": {"type": "dismiss"}}
    go = {"id": "buy", "label": "Go", "action": {"type": "url", "target": "https://s.example"}}
    return live_engagement(
        "Spring sale",
        ab_test=True,
        variants=[variant("A", "modal", [buy, later]), variant("B", "banner_top", [go])],
        trigger={
            "event": "checkout",
            "conditions": [
                {"attribute": "screen", "op": "eq", "value": "cart"},
                {"attribute": "total", "op": "gte", "value": 20},
            ],
        },
        frequency={"max_impressions": 5, "max_per_day": 2},
        priority=2,
        metrics=[{"element": "buy", "metric": "spring_buy_clicked"}],
    )


def endpoint_request(locale: str, user_id: str | None = None) -> dict:
    request = {
        "RequestId": str(uuid.uuid4()),
        "EffectiveDate": datetime.now(UTC).isoformat(),
        "ChannelType": "IN_APP",
        "Demographic": {
            "Locale": locale,
            "Platform": "ios",
            "PlatformVersion": "18.1",
            "AppVersion": "2.4.0",
            "Timezone": "Europe/Paris",
            "Make": "Apple",
        },
        "Attributes": {"plan": ["gold"]},
    }
    if user_id:
        request["User"] = {"UserId": user_id, "UserAttributes": {"tier": ["vip"]}}
    return request


def message_event(event_type: str, campaign_id: str, treatment_id: str) -> dict:
    return {
        "EventType": event_type,
        "Timestamp": datetime.now(UTC).isoformat(),
        "Attributes": {
            "campaign_id": campaign_id,
            "treatment_id": treatment_id,
            "delivery_type": "IN_APP_MESSAGE",
        },
        "Session": {"Id": "s-1", "StartTimestamp": datetime.now(UTC).isoformat()},
    }


@pytest.fixture
def scene(herald):
    shop = HeraldApp(herald.url)
    ids = {
        "spring": shop.engagement(spring_sale()),
        "holdout": shop.engagement(live_engagement("Holdout", control_percent=50, priority=3)),
        "paused": shop.engagement(live_engagement("Paused")),
        "once": shop.engagement(
            live_engagement("Once", frequency={"max_impressions": 1}, priority=4)
        ),
        "ne": shop.engagement(
            live_engagement(
                "Not on home",
                trigger={
                    "event": "app_launch",
                    "conditions": [{"attribute": "screen", "op": "ne", "value": "home"}],
                },
            )
        ),
    }
    shop.admin("POST", f"/engagements/{ids['paused']}/pause")
    french = shop.admin(
        "POST",
        "/audiences",
        {
            "name": "French",
            "rules": {"all": [{"attribute": "locale", "op": "eq", "value": "fr-FR"}]},
        },
    )
    ids["french"] = shop.engagement(
        live_engagement("Bonjour", audience={"audience_ids": [french["audience_id"]]})
    )
    return shop, ids


def subject_outside_control(holdout: str, wanted_in_control: bool, prefix: str) -> str:
    return next(
        f"{prefix}-{n}"
        for n in range(1000)
        if assign(holdout, f"user:{prefix}-{n}", 100, 50, (("A", 100),)).in_control
        is wanted_in_control
    )


def test_the_three_operations_round_trip_through_botocore(herald, scene):
    shop, ids = scene
    pinpoint = pinpoint_client(herald)
    user = subject_outside_control(ids["holdout"], False, "u-fr")
    held_out = subject_outside_control(ids["holdout"], True, "u-held")

    answer = pinpoint.update_endpoint(
        ApplicationId=shop.app_id,
        EndpointId="ep-fr",
        EndpointRequest=endpoint_request("fr-FR", user),
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert answer["MessageBody"]["Message"] == "Accepted"
    for endpoint, locale, who in (("ep-en", "en-US", None), ("ep-held", "en-US", held_out)):
        pinpoint.update_endpoint(
            ApplicationId=shop.app_id,
            EndpointId=endpoint,
            EndpointRequest=endpoint_request(locale, who),
        )

    campaigns = pinpoint.get_in_app_messages(ApplicationId=shop.app_id, EndpointId="ep-fr")[
        "InAppMessagesResponse"
    ]["InAppMessageCampaigns"]
    by_id = {campaign["CampaignId"]: campaign for campaign in campaigns}
    # paused, and the condition Pinpoint cannot carry, stay out; by priority
    assert [c["CampaignId"] for c in campaigns] == [
        ids["spring"],
        ids["holdout"],
        ids["once"],
        ids["french"],
    ]
    variant = pick_variant(ids["spring"], f"user:{user}", (("A", 50), ("B", 50)))
    spring = by_id[ids["spring"]]
    assert spring["TreatmentId"] == variant
    assert spring["Priority"] == 2
    assert (spring["TotalCap"], spring["DailyCap"]) == (5, 2)
    assert spring["Schedule"]["EventFilter"]["Dimensions"] == {
        "EventType": {"DimensionType": "INCLUSIVE", "Values": ["checkout"]},
        "Attributes": {"screen": {"AttributeType": "INCLUSIVE", "Values": ["cart"]}},
        "Metrics": {"total": {"ComparisonOperator": "GREATER_THAN_OR_EQUAL", "Value": 20.0}},
    }
    assert spring["Schedule"]["EndDate"].endswith("Z")
    message = spring["InAppMessage"]
    assert message["Layout"] == SPRING[variant]["layout"]
    assert message["CustomConfig"] == {"campaign": "spring"}
    [content] = message["Content"]
    assert content["HeaderConfig"]["Header"] == SPRING[variant]["fr"]  # localized for fr-FR
    assert content["HeaderConfig"]["TextColor"] == "#111111"
    assert content["BodyConfig"]["Body"] == "20 % off today"
    assert content["ImageUrl"] == "https://cdn.example.com/sale.png"
    assert content["BackgroundColor"] == "#FFFFFF"
    primary = content["PrimaryBtn"]["DefaultConfig"]
    if variant == "A":
        assert primary == {"ButtonAction": "DEEP_LINK", "Text": "Shop now", "Link": "shop://s"}
        assert content["SecondaryBtn"]["DefaultConfig"] == {
            "ButtonAction": "CLOSE",
            "Text": "Later",
        }
    else:
        assert primary == {"ButtonAction": "LINK", "Text": "Go", "Link": "https://s.example"}
        assert "SecondaryBtn" not in content

    english = pinpoint.get_in_app_messages(ApplicationId=shop.app_id, EndpointId="ep-en")
    english_ids = [
        c["CampaignId"] for c in english["InAppMessagesResponse"]["InAppMessageCampaigns"]
    ]
    assert ids["french"] not in english_ids  # the audience rule
    held = pinpoint.get_in_app_messages(ApplicationId=shop.app_id, EndpointId="ep-held")
    held_ids = [c["CampaignId"] for c in held["InAppMessagesResponse"]["InAppMessageCampaigns"]]
    assert ids["holdout"] not in held_ids  # the control group gets nothing...

    explained = shop.explain("ep-fr")
    assert explained[ids["paused"]]["reason"] == "paused"
    assert explained[ids["ne"]]["reason"] == "trigger_unsupported"
    assert explained[ids["ne"]]["detail"]["condition"] == {
        "attribute": "screen",
        "op": "ne",
        "value": "home",
    }

    shown = {
        "e-1": message_event("_inapp.message_displayed", ids["spring"], variant),
        "e-2": message_event("_inapp.message_clicked", ids["spring"], variant),
        "e-3": message_event("_inapp.message_dismissed", ids["spring"], variant),
        "e-4": message_event("_inapp.message_displayed", ids["once"], "A"),
        "e-5": {"EventType": "purchase", "Timestamp": datetime.now(UTC).isoformat()},
        "e-6": message_event("_inapp.message_displayed", "no-such-campaign", "A"),
    }
    answer = pinpoint.put_events(
        ApplicationId=shop.app_id,
        EventsRequest={"BatchItem": {"ep-fr": {"Endpoint": {}, "Events": shown}}},
    )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    results = answer["EventsResponse"]["Results"]["ep-fr"]
    assert results["EndpointItemResponse"] == {"StatusCode": 202, "Message": "Accepted"}
    statuses = {event_id: r["StatusCode"] for event_id, r in results["EventsItemResponse"].items()}
    assert statuses == {"e-1": 202, "e-2": 202, "e-3": 202, "e-4": 202, "e-5": 202, "e-6": 400}
    assert "no campaign no-such-campaign" in results["EventsItemResponse"]["e-6"]["Message"]

    wait_for(lambda: variant_totals(shop.metrics(ids["spring"]), variant) == (1, 1, 1), 10)
    report = shop.metrics(ids["spring"])
    [counted] = [v for v in report["variants"] if v["key"] == variant]
    clicked = {element: n for element, n in counted["clicks_by_element"].items() if n}
    assert clicked == {"buy": 1}  # the primary button
    assert counted["metrics"] == {"spring_buy_clicked": 1}
    english_held = assign(ids["holdout"], "device:ep-en", 100, 50, (("A", 100),)).in_control
    held_count = 1 + english_held  # ...and is recorded as assigned
    wait_for(lambda: shop.metrics(ids["holdout"])["control"]["assigned"] == held_count, 10)

    # the capped one has had its one impression: Herald's cap holds it back on the next sync
    def once_is_capped():
        again = pinpoint.get_in_app_messages(ApplicationId=shop.app_id, EndpointId="ep-fr")
        campaigns = again["InAppMessagesResponse"]["InAppMessageCampaigns"]
        return ids["once"] not in [c["CampaignId"] for c in campaigns]

    wait_for(once_is_capped, 10)
    assert shop.explain("ep-fr")[ids["once"]]["reason"] == "capped_total"


def test_errors_parse_as_pinpoints_exceptions(herald, scene):
    shop, _ = scene
    pinpoint = pinpoint_client(herald)
    unknown = pinpoint.get_in_app_messages(ApplicationId=shop.app_id, EndpointId="never-seen")
    assert unknown["InAppMessagesResponse"]["InAppMessageCampaigns"] == []
    assert unknown["ResponseMetadata"]["HTTPStatusCode"] == 200

    with pytest.raises(ClientError) as refused:
        pinpoint.update_endpoint(
            ApplicationId=shop.app_id,
            EndpointId="ep-1",
            EndpointRequest={"Demographic": {"Timezone": "Mars/Olympus"}},
        )
    error = refused.value.response["Error"]
    assert error["Code"] == "BadRequestException"
    assert "timezone" in error["Message"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    closed = HeraldApp(herald.url, "Closed", pinpoint=False)
    with pytest.raises(pinpoint.exceptions.ForbiddenException) as forbidden:
        pinpoint.get_in_app_messages(ApplicationId=closed.app_id, EndpointId="ep-1")
    assert "not enabled" in forbidden.value.response["Error"]["Message"]
