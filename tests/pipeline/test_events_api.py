"""POST /v1/apps/{app_id}/events: valid batches are queued, anything invalid is refused whole."""

import json
from datetime import timedelta, timezone

import boto3
import pytest

from chalicelib.settings import get_settings
from tests.pipeline.helpers import drain, event, now, post_events, queue_url

PARIS = timezone(timedelta(hours=1))


KINDS = [
    ("impression", {"engagement_id": "eng-1", "variant": "A"}),
    ("click", {"engagement_id": "eng-1", "variant": "A", "element": "buy"}),
    ("dismiss", {"engagement_id": "eng-1", "variant": "B"}),
    ("render_error", {"engagement_id": "eng-1", "variant": "B"}),
    ("custom", {"name": "purchase", "attributes": {"amount": 20, "vip": True}}),
]


def valid_events(count: int) -> list[dict]:
    """`count` valid events, cycling through every type."""
    moment = now()
    return [event(f"d-{n}", KINDS[n % 5][0], moment, **KINDS[n % 5][1]) for n in range(count)]


def queued_events() -> list[dict]:
    return [e for message in drain() for e in json.loads(message.body)["events"]]


def test_a_valid_batch_is_queued_several_events_per_message(api, shop):
    sent = valid_events(25)
    reply = post_events(api, shop, sent)
    assert (reply.status, reply.body) == (202, {"accepted": 25})

    messages = drain()
    assert 1 < len(messages) < 25
    bodies = [json.loads(message.body) for message in messages]
    assert {body["app_id"] for body in bodies} == {shop.app_id}
    queued = [e for body in bodies for e in body["events"]]
    assert sorted(e["id"] for e in queued) == sorted(e["id"] for e in sent)
    custom = next(e for e in queued if e["type"] == "custom")
    assert custom["attributes"] == {"amount": 20, "vip": True}


def test_the_spec_examples_and_any_utc_offset_are_accepted(api, shop):
    moment = now().astimezone(PARIS)
    examples = [
        {
            "id": "9f1c",
            "device_id": "d-1",
            "type": "click",
            "engagement_id": "eng-1",
            "variant": "A",
            "element": "buy",
            "timestamp": moment.isoformat(),
        },
        {
            "id": "9f1d",
            "device_id": "d-1",
            "type": "custom",
            "name": "purchase",
            "timestamp": now().isoformat().replace("+00:00", "Z"),
            "attributes": {"amount": 20},
        },
    ]
    assert post_events(api, shop, examples).status == 202
    assert len(queued_events()) == 2


def with_change(index: int, **changes) -> dict:
    events = valid_events(5)
    for name, value in changes.items():
        if value is None:
            events[index].pop(name)
        else:
            events[index][name] = value
    return {"events": events}


BAD_BATCHES = [
    pytest.param(
        with_change(1, element=None), "events[1].element: Field required", id="click-no-element"
    ),
    pytest.param(with_change(4, name=None), "events[4].name: Field required", id="custom-no-name"),
    pytest.param(
        with_change(0, variant=None), "events[0].variant: Field required", id="no-variant"
    ),
    pytest.param(with_change(2, engagement_id=None), "events[2].engagement_id", id="no-engagement"),
    pytest.param(with_change(3, type="view"), "events[3].type: must be one of", id="bad-type"),
    pytest.param(with_change(3, type=None), "events[3].type: must be one of", id="no-type"),
    pytest.param(with_change(0, id="x" * 65), "events[0].id", id="id-too-long"),
    pytest.param(with_change(0, id=""), "events[0].id", id="empty-id"),
    pytest.param(with_change(2, device_id="a b"), "events[2].device_id", id="bad-device"),
    pytest.param(with_change(1, element="b u y"), "events[1].element", id="bad-element"),
    pytest.param(with_change(4, surprise=1), "events[4].surprise: unknown field", id="unknown"),
    pytest.param(
        with_change(4, engagement_id="eng-1"),
        "events[4].engagement_id: unknown field",
        id="custom+eid",
    ),
    pytest.param(
        with_change(0, timestamp="2026-12-01T10:00:00"), "events[0].timestamp", id="naive-time"
    ),
    pytest.param(with_change(0, timestamp="yesterday"), "events[0].timestamp", id="not-a-time"),
    pytest.param(with_change(0, timestamp=1764583200), "events[0].timestamp", id="epoch-number"),
    pytest.param(
        with_change(2, timestamp=(now() + timedelta(hours=25)).isoformat()),
        "events[2].timestamp: more than 24 hours in the future",
        id="future",
    ),
    pytest.param(
        with_change(3, timestamp=(now() - timedelta(days=31)).isoformat()),
        "events[3].timestamp: more than 30 days in the past",
        id="past",
    ),
    pytest.param(with_change(4, attributes={"a": [1]}), "events[4].attributes.a", id="attr-list"),
    pytest.param({"events": []}, "events: List should have at least 1 item", id="empty"),
    pytest.param({"events": valid_events(101)}, "events: List should have at most 100", id="101"),
    pytest.param({"events": [3]}, "events[0]: Input should be an object", id="not-an-object"),
    pytest.param({}, "events: Field required", id="no-events"),
    pytest.param({"events": valid_events(1), "app_id": "x"}, "app_id: unknown field", id="extra"),
    pytest.param("[1, 2]", "body must be a JSON object", id="array-body"),
    pytest.param("{nope", "body is not valid JSON", id="bad-json"),
]


@pytest.mark.parametrize(("body", "message"), BAD_BATCHES)
def test_an_invalid_batch_is_refused_naming_the_event_and_field_and_nothing_is_queued(
    api, shop, body, message
):
    reply = api.post(f"{shop.path}/events", body, X_Client_Key=shop.client_key)
    assert reply.status == 400, reply.body
    assert reply.body["Code"] == "BadRequestError"
    assert message in reply.body["Message"]
    assert drain() == []


def test_a_body_over_256_kib_is_413_and_nothing_is_queued(api, shop):
    events = valid_events(100)
    for item in events:
        item["attributes"] = {f"k{n}": "x" * 60 for n in range(45)}
    body = json.dumps({"events": events})
    assert len(body) > 256 * 1024
    reply = api.post(f"{shop.path}/events", body, X_Client_Key=shop.client_key)
    assert reply.status == 413
    assert reply.body["Code"] == "RequestEntityTooLargeError"
    assert drain() == []


def test_a_full_batch_under_the_limit_fits_the_queue(api, shop):
    events = valid_events(100)
    for item in events:
        item["attributes"] = {f"k{n}": "x" * 50 for n in range(40)}
    assert 200 * 1024 < len(json.dumps({"events": events})) <= 256 * 1024
    assert post_events(api, shop, events).body == {"accepted": 100}
    assert len(queued_events()) == 100


def test_events_need_this_apps_client_key(api, shop, other_shop):
    events = valid_events(1)
    assert api.post(f"{shop.path}/events", {"events": events}).status == 401
    assert post_events(api, shop, events, key=other_shop.client_key).status == 403
    assert (
        api.post(f"{shop.path}/events", {"events": events}, X_Client_Key=shop.admin_key).status
        == 403
    )
    assert drain() == []


def test_an_unreachable_queue_is_503_with_retry_after(api, shop):
    sqs = boto3.client("sqs", region_name=get_settings().region)
    sqs.delete_queue(QueueUrl=queue_url())

    reply = post_events(api, shop, valid_events(3))
    assert reply.status == 503
    assert reply.body["Code"] == "ServiceUnavailableError"
    assert reply.body["Message"]
    assert int(reply.headers["Retry-After"]) > 0
