"""The consumer within DynamoDB's transaction limits (100 items, 4 MB): chunks bounded by items
and bytes, a chunk DynamoDB refuses for its size bisected down to one event, an event no
transaction can hold refused once with a counted reason (never retried into the dead-letter
queue), and a batch whose every message failed raised, so no event mapping can drop it."""

import json

import pytest
import time_machine
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from app import consume_events
from chalicelib.services import chunks
from chalicelib.services.consumer import EveryMessageFailed
from tests.api.device_helpers import create_engagement
from tests.pipeline.helpers import (
    consume,
    drain,
    event,
    in_batches,
    metrics,
    post_events,
    register_devices,
    sqs_event,
)
from tests.pipeline.scenario import T0, welcome

SIZE_REFUSAL = "Transaction request cannot be larger than 4 MB"  # DynamoDB's words


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


class Transactions:
    """Records every TransactWriteItems the consumer sends (its items and request bytes) and
    refuses, as DynamoDB refuses a transaction over 4 MB, those `refuse` says are too large."""

    def __init__(self, monkeypatch, refuse=lambda items: False):
        self.sent: list[tuple[int, int]] = []  # (items, bytes) of each transaction attempted
        self.refused = 0
        original = BaseClient._make_api_call

        def call(client, operation, params):
            if operation == "TransactWriteItems":
                items = params["TransactItems"]
                self.sent.append((len(items), len(json.dumps(params))))
                if refuse(items):
                    self.refused += 1
                    error = {"Error": {"Code": "ValidationException", "Message": SIZE_REFUSAL}}
                    raise ClientError(error, operation)
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", call)


def markers_in(items) -> list[str]:
    return [
        item["Put"]["Item"]["marker"]["S"]
        for item in items
        if "marker" in item.get("Put", {}).get("Item", {})
    ]


def impressions(api, shop, engagement_id: str, devices: int) -> list[dict]:
    shown = {"engagement_id": engagement_id, "variant": "W"}
    events = [event(f"d-{n}", "impression", T0, **shown) for n in range(devices)]
    return register_devices(api, shop, events)


def post(api, shop, events: list[dict]) -> None:
    for start in range(0, len(events), 100):
        assert post_events(api, shop, events[start : start + 100]).status == 202


def test_chunks_stay_within_the_byte_bound_and_every_event_counts_once(
    api, shop, at_t0, monkeypatch
):
    eid = create_engagement(api, shop, welcome())
    post(api, shop, impressions(api, shop, eid, 40))
    messages = drain()
    monkeypatch.setattr(chunks, "MAX_CHUNK_BYTES", 2_000)  # a few histories per chunk
    sent = Transactions(monkeypatch)

    assert [failed for batch in in_batches(messages) for failed in consume(batch)] == []

    assert len(sent.sent) > len(in_batches(messages))  # batches split by bytes, not by items
    assert all(items <= 100 for items, _bytes in sent.sent)
    [counted] = metrics(api, shop, eid)["variants"]
    assert (counted["impressions"], counted["unique_devices"]) == (40, 40)


def test_a_chunk_refused_as_too_large_is_bisected_down_to_what_fits(api, shop, at_t0, monkeypatch):
    eid = create_engagement(api, shop, welcome())
    post(api, shop, impressions(api, shop, eid, 30))
    messages = drain()
    # DynamoDB refuses any transaction of more than 3 events here: the consumer must halve
    sent = Transactions(monkeypatch, refuse=lambda items: len(markers_in(items)) > 3)

    assert consume(messages) == []

    assert sent.refused >= 1
    accepted = [items for items, _bytes in sent.sent][sent.refused :]
    assert accepted and all(items <= 3 * 4 for items in accepted)
    [counted] = metrics(api, shop, eid)["variants"]
    assert (counted["impressions"], counted["unique_devices"]) == (30, 30)
    assert consume(messages) == []  # redelivered: nothing counted twice
    [again] = metrics(api, shop, eid)["variants"]
    assert again["impressions"] == 30


def test_an_event_refused_even_alone_is_marked_refused_once_and_the_rest_counts(
    api, shop, at_t0, monkeypatch, capsys
):
    eid = create_engagement(api, shop, welcome())
    events = impressions(api, shop, eid, 12)
    post(api, shop, events)
    messages = drain()
    huge = events[5]["id"]
    # a transaction writing this event's changes is always refused, as an event over 4 MB would
    # be; its marker alone is small
    Transactions(
        monkeypatch,
        refuse=lambda items: len(items) > 1 and any(huge in m for m in markers_in(items)),
    )
    capsys.readouterr()

    assert consume(messages) == []  # nothing for SQS to retry into the dead-letter queue

    [counted] = metrics(api, shop, eid)["variants"]
    assert counted["impressions"] == 11
    rejected = [line for line in capsys.readouterr().out.splitlines() if '"too_large"' in line]
    assert len(rejected) == 1
    assert consume(messages) == []  # redelivered: refused once, not again
    assert not [line for line in capsys.readouterr().out.splitlines() if '"too_large"' in line]
    assert metrics(api, shop, eid)["variants"][0]["impressions"] == 11


def converting(name: str) -> dict:
    body = welcome()
    body["name"] = name
    body["conversion"] = {"event": "purchase", "window_hours": 24}
    return body


def test_a_conversion_crediting_more_engagements_than_a_transaction_holds(
    api, shop, at_t0, monkeypatch, capsys
):
    """110 engagements converting on one event, all shown to one device: the conversion would
    need 112 items in one transaction, so it is refused (too_large) once and for all, not retried
    into the dead-letter queue; the 110 impressions before it count in chunks."""
    ids = [create_engagement(api, shop, converting(f"E{n:03d}")) for n in range(110)]
    shown = [event("d-1", "impression", T0, engagement_id=eid, variant="W") for eid in ids]
    post(api, shop, register_devices(api, shop, shown))
    assert [failed for batch in in_batches(drain()) for failed in consume(batch)] == []
    post(api, shop, [event("d-1", "custom", T0, name="purchase")])
    [purchase] = drain()
    sent = Transactions(monkeypatch)
    capsys.readouterr()

    assert consume([purchase]) == []
    assert consume([purchase]) == []  # redelivered

    assert all(items <= 100 for items, _bytes in sent.sent)
    out = capsys.readouterr().out
    assert out.count('"reason": "too_large"') + out.count('"reason":"too_large"') == 1
    for eid in (ids[0], ids[-1]):
        [counted] = metrics(api, shop, eid)["variants"]
        assert (counted["impressions"], counted["conversions"]) == (1, 0)


def test_a_batch_whose_every_message_failed_raises(api, shop, at_t0, monkeypatch):
    eid = create_engagement(api, shop, welcome())
    post(api, shop, impressions(api, shop, eid, 3))
    messages = drain()

    def throttled(client, operation, params):
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}
        raise ClientError(error, operation)

    with monkeypatch.context() as patched:
        patched.setattr(BaseClient, "_make_api_call", throttled)
        with pytest.raises(EveryMessageFailed):
            consume_events(sqs_event(messages), None)

    assert consume(messages) == []  # SQS retries them all: each counts once
    assert metrics(api, shop, eid)["variants"][0]["impressions"] == 3
