"""Events cannot forge results (SPEC §7.3): the attacks a holder of the public client key tried,
through POST /events and the SQS consumer, and how a click that overtakes its impression in the
queue still counts."""

import random
from datetime import timedelta

import boto3
import pytest
import time_machine

from chalicelib.domain import integrity
from chalicelib.settings import get_settings
from tests.api.device_helpers import create_engagement, fetch, register
from tests.pipeline.helpers import (
    consume,
    consume_all,
    drain,
    event,
    in_batches,
    metrics,
    post_events,
    queue_url,
    register_devices,
    settle,
)
from tests.pipeline.scenario import T0, spring, welcome

NO_REJECTIONS = dict.fromkeys(integrity.REASONS, 0)


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def shown_w(eid: str) -> dict:
    return {"engagement_id": eid, "variant": "W"}


def send(api, shop, events: list[dict]) -> None:
    assert post_events(api, shop, events).status == 202


def test_an_attackers_event_ids_cannot_shadow_other_devices_events(api, shop, at_t0):
    eid = create_engagement(api, shop, welcome())
    register(api, shop, "attacker")
    send(
        api,
        shop,
        [event("attacker", "dismiss", T0, id=f"evt-{n}", **shown_w(eid)) for n in range(1, 6)],
    )
    assert consume_all() == []
    victims = [f"victim-{n}" for n in range(1, 7)]
    impressions = [
        event(d, "impression", T0, id=f"evt-{n}", **shown_w(eid)) for n, d in enumerate(victims, 1)
    ]
    send(api, shop, register_devices(api, shop, impressions))
    assert consume_all() == []
    assert settle(at_t0) == []  # the dismissals wait for an impression that never comes

    report = metrics(api, shop, eid)
    [counted] = report["variants"]
    assert (counted["impressions"], counted["unique_devices"], counted["dismissals"]) == (6, 6, 0)
    assert report["rejected"] == {**NO_REJECTIONS, "no_impression": 5}


def test_clicks_from_invented_devices_or_on_no_button_count_nothing(api, shop, at_t0):
    body = welcome()
    body["variants"][0]["message"].pop("buttons")  # a message with no buttons
    eid = create_engagement(api, shop, body)
    invented = [event(f"bot-{n}", "click", T0, element="x", **shown_w(eid)) for n in range(100)]
    send(api, shop, invented)
    register(api, shop, "real")
    send(
        api,
        shop,
        [
            event("real", "impression", T0, **shown_w(eid)),
            event("real", "click", T0, element="buy", **shown_w(eid)),
            event("real", "click", T0, element="x", variant="B", engagement_id=eid),
        ],
    )
    assert consume_all() == []  # refused events are acknowledged, not retried

    report = metrics(api, shop, eid)
    [counted] = report["variants"]
    assert (counted["impressions"], counted["clicks"], counted["ctr"]) == (1, 0, 0.0)
    assert report["rejected"] == {
        **NO_REJECTIONS,
        "unregistered_device": 100,
        "unknown_element": 1,
        "unknown_variant": 1,
    }
    assert drain() == []  # nothing held: refused at once


def test_one_impression_allows_one_click_and_one_dismissal(api, shop, at_t0):
    eid = create_engagement(api, shop, welcome())
    register(api, shop, "d-1")
    events = [event("d-1", "impression", T0, **shown_w(eid))]
    events += [event("d-1", "click", T0, element="x", **shown_w(eid)) for _ in range(10)]
    events += [event("d-1", "dismiss", T0, **shown_w(eid)) for _ in range(3)]
    send(api, shop, events)
    assert consume_all() == []
    assert settle(at_t0) == []

    report = metrics(api, shop, eid)
    [counted] = report["variants"]
    assert (counted["impressions"], counted["clicks"], counted["dismissals"]) == (1, 1, 1)
    assert report["rejected"] == {**NO_REJECTIONS, "no_impression": 11}


def test_fetches_with_random_device_ids_add_no_control_group_members(api, shop, at_t0):
    eid = create_engagement(api, shop, {**spring(), "control_percent": 50})
    rng = random.Random(3)
    for _ in range(200):
        fetch(api, shop, f"rnd-{rng.getrandbits(64):x}")

    assert drain() == []  # nothing queued for devices that never registered
    assert metrics(api, shop, eid)["control"]["assigned"] == 0


def test_forged_assignments_of_unregistered_devices_are_refused_by_the_consumer(api, shop, at_t0):
    """Even a queued control assignment (only fetches queue them) counts for registered devices
    only: the consumer checks again."""
    from chalicelib.services.ingestion import pack

    eid = create_engagement(api, shop, {**spring(), "control_percent": 50})
    register(api, shop, "real")
    assigned = [
        {
            "id": f"assigned#{eid}#device:{device}",
            "type": "assigned",
            "device_id": device,
            "subject": f"device:{device}",
            "engagement_id": eid,
            "timestamp": T0.isoformat(),
        }
        for device in ("ghost", "real")
    ]
    sqs = boto3.client("sqs", region_name=get_settings().region)
    [body] = pack(shop.app_id, assigned)
    sqs.send_message(QueueUrl=queue_url(), MessageBody=body)
    assert consume_all() == []

    report = metrics(api, shop, eid)
    assert report["control"]["assigned"] == 1
    assert report["rejected"]["unregistered_device"] == 1


def test_clicks_delivered_before_their_impressions_count_once_they_arrive(api, shop, at_t0):
    """Each device's impression, click and dismissal in messages of their own, delivered in a
    shuffled order, engaged events first, each three times: every one counts once."""
    eid = create_engagement(api, shop, welcome())
    devices = [f"d-{n}" for n in range(12)]
    register_devices(api, shop, [{"device_id": device} for device in devices])
    by_kind = {}
    for kind in ("impression", "click", "dismiss"):
        extra = {"element": "x"} if kind == "click" else {}
        send(api, shop, [event(d, kind, T0, **extra, **shown_w(eid)) for d in devices])
        by_kind[kind] = drain()
    rng = random.Random(5)
    engaged = by_kind["click"] + by_kind["dismiss"]
    rng.shuffle(engaged)
    for batch in in_batches(engaged * 3, 4):
        assert consume(batch) == []
    assert metrics(api, shop, eid)["variants"][0]["clicks"] == 0  # all held so far
    at_t0.shift(timedelta(minutes=30))  # the impressions come half an hour late
    impressions = by_kind["impression"] * 2
    rng.shuffle(impressions)
    for batch in in_batches(impressions, 3):
        assert consume(batch) == []

    assert settle(at_t0) == []
    report = metrics(api, shop, eid)
    [counted] = report["variants"]
    assert (counted["impressions"], counted["clicks"], counted["dismissals"]) == (12, 12, 12)
    assert report["rejected"] == NO_REJECTIONS
    assert drain() == []


def test_a_held_click_is_refused_once_its_window_has_passed(api, shop, at_t0):
    eid = create_engagement(api, shop, welcome())
    register(api, shop, "d-1")
    send(api, shop, [event("d-1", "click", T0, element="x", **shown_w(eid))])
    assert consume_all() == []
    assert settle(at_t0) == []  # looked at again and again for an hour, then refused
    send(api, shop, [event("d-1", "impression", T0, **shown_w(eid))])  # too late
    assert consume_all() == []

    report = metrics(api, shop, eid)
    assert report["variants"][0]["clicks"] == 0
    assert report["rejected"]["no_impression"] == 1


def test_a_held_event_that_cannot_be_sent_back_fails_its_message(api, shop, at_t0):
    eid = create_engagement(api, shop, welcome())
    register(api, shop, "d-1")
    send(api, shop, [event("d-1", "click", T0, element="x", **shown_w(eid))])
    [message] = drain()
    sqs = boto3.client("sqs", region_name=get_settings().region)
    sqs.delete_queue(QueueUrl=queue_url())

    assert consume([message]) == [message.message_id]  # SQS delivers it again later


def test_answers_count_once_per_subject_and_only_after_an_impression(api, shop, at_t0):
    body = welcome()
    body["variants"][0]["message"]["question"] = {"type": "rating", "prompt": "How was it?"}
    eid = create_engagement(api, shop, body)
    register_devices(api, shop, [{"device_id": d} for d in ("d-1", "d-2", "d-3")])
    answer = {"engagement_id": eid, "variant": "W"}
    send(
        api,
        shop,
        [
            event("d-1", "response", T0, value=4, **answer),  # before its impression
            event("d-1", "impression", T0, **answer),
            event("d-1", "response", T0, value=5, **answer),  # a second answer
            event("d-2", "response", T0, value=5, **answer),  # never shown the message
            event("bot-1", "response", T0, value=1, **answer),  # never registered
        ],
    )
    assert consume_all() == []
    assert settle(at_t0) == []

    report = metrics(api, shop, eid)
    [counted] = report["variants"]
    assert counted["impressions"] == 1
    assert counted["responses"] == 1
    assert report["rejected"] == {
        **NO_REJECTIONS,
        "already_answered": 1,
        "no_impression": 1,
        "unregistered_device": 1,
    }
