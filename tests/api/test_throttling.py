"""DynamoDB throttling or a transaction conflict on any request path is a 503 with Retry-After,
never a 500, and the same request succeeds once DynamoDB answers again."""

import pytest

from tests.api.device_helpers import create_engagement, live_engagement, register
from tests.faults import injected_faults

TRANSIENT = [
    ("ProvisionedThroughputExceededException", None),
    ("ThrottlingException", None),
    ("RequestLimitExceeded", None),
    ("TransactionConflictException", None),
    ("TransactionCanceledException", ["TransactionConflict", "None"]),
    ("TransactionCanceledException", ["ThrottlingError"]),
]


def _dynamodb_operations(send) -> list[str]:
    """The DynamoDB operations a request makes once warm (catalogs cached), in order."""
    send()
    with injected_faults() as faults:
        reply = send()
    assert reply.status < 300, reply.body
    return [operation for (service, operation) in faults.calls if service == "dynamodb"]


def _each_failure_is_a_503(send):
    operations = _dynamodb_operations(send)
    assert operations
    for operation in operations:
        for code, reasons in TRANSIENT:
            if reasons is not None and not operation.startswith("Transact"):
                continue
            with injected_faults() as faults:
                faults.fail("dynamodb", operation, code, reasons=reasons)
                reply = send()
            assert reply.status == 503, (operation, code, reply.status, reply.body)
            assert reply.body["Code"] == "ServiceUnavailableError"
            assert int(reply.headers["Retry-After"]) >= 1
    assert send().status < 300


def test_a_throttled_fetch_is_a_503_on_every_dynamodb_call(api, shop):
    create_engagement(api, shop, live_engagement("Spring"))
    register(api, shop, "d-1", user_id="u-1")

    def fetch():
        return api.get(f"{shop.path}/devices/d-1/messages", X_Client_Key=shop.client_key)

    _each_failure_is_a_503(fetch)


def test_a_throttled_first_fetch_that_loads_the_catalog_is_a_503(api, shop):
    create_engagement(api, shop, live_engagement("Spring"))
    with injected_faults() as faults:
        faults.fail("dynamodb", "Query", "ProvisionedThroughputExceededException")
        reply = api.get(f"{shop.path}/devices/d-1/messages", X_Client_Key=shop.client_key)
    assert reply.status == 503, reply.body
    assert reply.headers["Retry-After"]


@pytest.mark.parametrize(
    "route",
    ["engagements", "engagement", "audiences", "app", "metrics", "explain", "register"],
)
def test_admin_and_device_routes_answer_503_when_throttled(api, shop, route):
    eid = create_engagement(api, shop, live_engagement("Spring"))
    sends = {
        "engagements": lambda: api.get(shop.path + "/engagements", key=shop.admin_key),
        "engagement": lambda: api.get(f"{shop.path}/engagements/{eid}", key=shop.admin_key),
        "audiences": lambda: api.get(shop.path + "/audiences", key=shop.admin_key),
        "app": lambda: api.get(shop.path, key=shop.admin_key),
        "metrics": lambda: api.get(f"{shop.path}/engagements/{eid}/metrics", key=shop.admin_key),
        "explain": lambda: api.get(f"{shop.path}/devices/d-1/messages/explain", key=shop.admin_key),
        "register": lambda: api.put(
            f"{shop.path}/devices/d-1", {"platform": "ios"}, X_Client_Key=shop.client_key
        ),
    }
    _each_failure_is_a_503(sends[route])


def test_a_throttled_create_is_a_503_and_the_retry_creates_it_once(api, shop):
    body = live_engagement("Spring")
    with injected_faults() as faults:
        faults.fail(
            "dynamodb",
            "TransactWriteItems",
            "TransactionCanceledException",
            reasons=["None", "TransactionConflict", "None"],
            times=1,
        )
        reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert reply.status == 503, reply.body
    assert api.post(shop.path + "/engagements", body, key=shop.admin_key).status == 201
    listed = api.get(shop.path + "/engagements", key=shop.admin_key).body["engagements"]
    assert [item["name"] for item in listed] == ["Spring"]
