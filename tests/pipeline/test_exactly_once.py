"""Exactly once: whatever SQS does (redeliver, reorder, run consumers side by side) and whatever
DynamoDB does (throttle a write, lose the answer to one), every event counts once. A click
delivered before its impression is held and counts when the impression has come (`settle`)."""

import random
import threading
from datetime import timedelta

import pytest
import time_machine
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.api.device_helpers import create_engagement
from tests.conftest import make_app
from tests.pipeline.helpers import (
    Message,
    consume,
    drain,
    event,
    in_batches,
    metrics,
    poison,
    post_events,
    register_devices,
    settle,
)
from tests.pipeline.scenario import T0, Scenario, welcome


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def scenario(api, shop, at_t0) -> Scenario:
    return Scenario().run(api, shop)


@pytest.mark.parametrize(
    "poison_body",
    ["{not json", '{"app_id": "app", "events": [{"id": "e1", "type": "impression"}]}'],
    ids=["unparseable", "invalid"],
)
def test_every_batch_replayed_three_times_shuffled_counts_exactly_and_only_poison_fails(
    api, shop, at_t0, scenario, poison_body
):
    rng = random.Random(11)
    bad = poison(poison_body)
    messages = [*drain(), bad]
    rng.shuffle(messages)
    batches = in_batches(messages)
    deliveries = [rng.sample(batch, len(batch)) for batch in batches * 3]
    rng.shuffle(deliveries)

    for batch in deliveries:
        expected_failures = [bad.message_id] if bad in batch else []
        assert consume(batch) == expected_failures
    assert settle(at_t0) == []

    expected = scenario.expected()
    assert scenario.counted(api, shop) == expected
    assert any(group == "control" for _, group, _ in expected)  # the scenario covers it all
    assert any(counts["conversions"] for counts in expected.values())


def side_by_side(work: list) -> list[str]:
    """Run each consumer's list of batches in its own thread, round by round (every consumer
    starts its round's batch at the same moment); the ids reported failed."""
    rounds = max(len(batches) for batches in work)
    round_starts = threading.Barrier(len(work))
    failures: list[str] = []

    def run(batches: list[list[Message]]) -> None:
        for round_ in range(rounds):
            round_starts.wait()
            if round_ < len(batches) and batches[round_]:
                failures.extend(consume(batches[round_]))

    threads = [threading.Thread(target=run, args=(batches,)) for batches in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_consumers_in_parallel_on_overlapping_batches_count_exactly(
    api, shop, at_t0, scenario, like_dynamodb
):
    messages = drain()
    windows = [messages[start : start + 8] for start in range(0, len(messages), 8)]
    # each round, four consumers take fresh batches that overlap: some messages in two of them,
    # the others with events about the same devices
    work = [
        [window[0:4] for window in windows],
        [window[2:6] for window in windows],
        [window[4:8] for window in windows],
        [window[3::-1] for window in windows],
    ]

    assert side_by_side(work) == []
    assert settle(at_t0) == []
    assert scenario.counted(api, shop) == scenario.expected()


def test_consumers_given_the_same_batch_at_once_count_it_once(api, shop, at_t0, like_dynamodb):
    eid = create_engagement(api, shop, welcome())
    shown = {"engagement_id": eid, "variant": "W"}
    events = [event(f"d-{n}", "impression", T0, **shown) for n in range(20)]
    events += [event(f"d-{n}", "click", T0, element="x", **shown) for n in range(20)]
    events += [event(f"d-{n}", "dismiss", T0, **shown) for n in range(10)]
    assert post_events(api, shop, register_devices(api, shop, events)).status == 202
    batch = drain()

    assert side_by_side([[batch]] * 4) == []
    assert settle(at_t0) == []
    [counted] = metrics(api, shop, eid)["variants"]
    assert (counted["impressions"], counted["clicks"], counted["dismissals"]) == (20, 20, 10)


def queued(api, shop, events: list[dict]) -> Message:
    assert post_events(api, shop, events).status == 202
    [message] = drain()
    return message


def test_consumers_counting_one_devices_events_at_once_lose_none(api, shop, at_t0, like_dynamodb):
    body = {**welcome(), "conversion": {"event": "purchase", "window_hours": 24}}
    eid = create_engagement(api, shop, body)
    devices = [f"d-{n}" for n in range(10)]
    register_devices(api, shop, [{"device_id": device} for device in devices])
    shown = {"engagement_id": eid, "variant": "W"}
    long_ago = [event(d, "impression", T0 - timedelta(hours=30), **shown) for d in devices]
    seen = [event(d, "impression", T0 - timedelta(hours=1), **shown) for d in devices]
    bought = [event(d, "custom", T0, name="purchase") for d in devices]
    history, impressions, purchases = (
        queued(api, shop, events) for events in (long_ago, seen, bought)
    )
    assert consume([history]) == []  # every device has a history before the race

    assert side_by_side([[[impressions]], [[purchases]]]) == []
    [counted] = metrics(api, shop, eid)["variants"]
    assert (counted["impressions"], counted["conversions"]) == (20, 10)


class FailOnce:
    """Makes the first TransactWriteItems that writes one of `markers` fail, before it reaches
    DynamoDB (throttled) or after it committed (the answer lost on the way back)."""

    def __init__(self, monkeypatch, code: str, committed: bool, marker_of: str):
        self.code, self.committed, self.marker_of = code, committed, marker_of
        self.failed = False
        original = BaseClient._make_api_call

        def call(client, operation, params):
            if operation == "TransactWriteItems" and not self.failed and self._targets(params):
                self.failed = True
                if self.committed:
                    original(client, operation, params)
                error = {"Error": {"Code": code, "Message": "injected"}}
                raise ClientError(error, operation)
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", call)

    def _targets(self, params) -> bool:
        return any(
            self.marker_of in (item.get("Put") or {}).get("Item", {}).get("marker", {}).get("S", "")
            for item in params["TransactItems"]
        )


def small_mix(api, shop, engagement_id: str, devices: list[str]) -> None:
    moment = T0
    events = []
    for device in devices:
        shown = {"engagement_id": engagement_id, "variant": "W"}
        events += [
            event(device, "impression", moment, **shown),
            event(device, "click", moment, element="x", **shown),
            event(device, "dismiss", moment, **shown),
        ]
    assert post_events(api, shop, register_devices(api, shop, events)).status == 202


@pytest.mark.parametrize(
    ("code", "committed"),
    [
        ("ProvisionedThroughputExceededException", False),
        ("ThrottlingException", False),
        ("InternalServerError", True),
    ],
    ids=["throttled", "throttled-request", "answer-lost-after-commit"],
)
def test_a_failed_write_fails_only_its_message_and_redelivery_counts_it_once(
    api, shop, at_t0, monkeypatch, code, committed
):
    other = make_app(api, "Other shop")
    shop_eid = create_engagement(api, shop, welcome())
    other_eid = create_engagement(api, other, welcome())
    small_mix(api, shop, shop_eid, ["a-1", "a-2"])
    small_mix(api, other, other_eid, ["b-1", "b-2", "b-3"])
    messages: list[Message] = drain()
    [shop_message] = [m for m in messages if shop.app_id in m.body]
    injected = FailOnce(monkeypatch, code, committed, marker_of=shop.app_id)

    assert consume(messages) == [shop_message.message_id]
    assert injected.failed
    assert consume([shop_message]) == []  # SQS redelivers it

    for tenant, eid, devices in ((shop, shop_eid, 2), (other, other_eid, 3)):
        [counted] = metrics(api, tenant, eid)["variants"]
        assert (counted["impressions"], counted["clicks"], counted["dismissals"]) == (
            devices,
            devices,
            devices,
        )
        assert counted["unique_devices"] == devices
