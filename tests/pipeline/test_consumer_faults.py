"""Every DynamoDB call the consumer makes, throttled or in conflict once: the message is retried
(by the consumer itself or by SQS) and every event still counts exactly once."""

import pytest
import time_machine

from tests.api.device_helpers import create_engagement
from tests.faults import injected_faults
from tests.pipeline.helpers import consume, drain, event, metrics, post_events, register_devices
from tests.pipeline.scenario import T0, welcome

CONSUMER_CALLS = ("BatchGetItem", "GetItem", "Query", "TransactWriteItems")
THROTTLED = ("ProvisionedThroughputExceededException", "ThrottlingException")
CASES = [(operation, code, None) for operation in CONSUMER_CALLS for code in THROTTLED] + [
    ("TransactWriteItems", "TransactionCanceledException", ["TransactionConflict"])
]


def queued(api, shop) -> tuple[str, list]:
    body = welcome()
    body["conversion"] = {"event": "purchase", "window_hours": 24}
    eid = create_engagement(api, shop, body)
    shown = {"engagement_id": eid, "variant": "W"}
    events = [
        event(device, type_, T0, **fields)
        for device in ("d-1", "d-2")
        for type_, fields in (
            ("impression", shown),
            ("click", {**shown, "element": "x"}),
            ("custom", {"name": "purchase"}),
        )
    ]
    assert post_events(api, shop, register_devices(api, shop, events)).status == 202
    return eid, drain()


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_these_are_the_consumers_dynamodb_calls(api, shop, at_t0):
    _eid, messages = queued(api, shop)
    with injected_faults() as faults:
        assert consume(messages) == []
    assert {operation for service, operation in faults.calls} == set(CONSUMER_CALLS)


@pytest.mark.parametrize(
    ("operation", "code", "reasons"), CASES, ids=[f"{op}-{code}" for op, code, _ in CASES]
)
def test_a_fault_on_any_consumer_call_loses_nothing_and_doubles_nothing(
    api, shop, at_t0, operation, code, reasons
):
    eid, messages = queued(api, shop)
    with injected_faults() as faults:
        faults.fail("dynamodb", operation, code, times=1, reasons=reasons)
        failed = consume(messages)
    assert faults.failed[("dynamodb", operation)] == 1
    retried = 0
    while failed:  # SQS delivers what failed again (and may deliver the rest again too)
        retried += 1
        failed = consume(messages)
    assert retried <= 1

    [counted] = metrics(api, shop, eid)["variants"]
    assert (counted["impressions"], counted["clicks"], counted["conversions"]) == (2, 2, 2)
    assert counted["unique_devices"] == 2
