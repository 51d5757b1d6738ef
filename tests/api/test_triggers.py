"""GET /v1/apps/{app_id}/triggers (SPEC §6.1): what a client matches events against, from the
catalog the fetch compiles, for one DynamoDB request, cacheable for next_fetch_after."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from botocore.client import BaseClient

from tests.api.device_helpers import create_engagement, fetch, live_engagement
from tests.conftest import store_snapshot


def triggers(api, shop, **headers):
    reply = api.get(shop.path + "/triggers", X_Client_Key=shop.client_key, **headers)
    assert reply.status == 200, reply.body
    return reply


def later(**delta) -> str:
    return (datetime.now(UTC).replace(microsecond=0) + timedelta(**delta)).isoformat()


def test_distinct_event_and_conditions_of_the_engagements_that_can_show(api, shop):
    cart = [{"attribute": "screen", "op": "eq", "value": "cart"}]
    create_engagement(
        api, shop, live_engagement("A", trigger={"event": "checkout", "conditions": cart})
    )
    create_engagement(
        api, shop, live_engagement("B", trigger={"event": "checkout", "conditions": cart})
    )
    create_engagement(api, shop, live_engagement("C", trigger={"event": "checkout"}))
    create_engagement(api, shop, live_engagement("D"))  # app_launch
    reply = triggers(api, shop)
    assert sorted(reply.body["triggers"], key=lambda t: (t["event"], len(t["conditions"]))) == [
        {"event": "app_launch", "conditions": []},
        {"event": "checkout", "conditions": []},
        {"event": "checkout", "conditions": cart},
    ]
    seconds = reply.body["next_fetch_after"]
    assert 0 < seconds <= 300
    assert reply.headers["Cache-Control"] == f"public, max-age={seconds}"


def test_paused_draft_ended_and_far_future_engagements_are_left_out(api, shop):
    paused = create_engagement(api, shop, live_engagement("P", trigger={"event": "paused_one"}))
    api.post(f"{shop.path}/engagements/{paused}/pause", key=shop.admin_key)
    create_engagement(
        api, shop, live_engagement("D", status="draft", trigger={"event": "draft_one"})
    )
    later_one = live_engagement("L", trigger={"event": "next_week"})
    later_one["schedule"] = {"start_at": later(days=7), "end_at": later(days=8)}
    create_engagement(api, shop, later_one)
    assert triggers(api, shop).body["triggers"] == []


def test_an_engagement_starting_before_next_fetch_after_is_listed_early(api, shop):
    soon = live_engagement("Soon", trigger={"event": "soon"})
    soon["schedule"] = {"start_at": later(seconds=120), "end_at": later(days=1)}
    create_engagement(api, shop, soon)
    body = triggers(api, shop).body
    assert body["triggers"] == [{"event": "soon", "conditions": []}]
    assert body["next_fetch_after"] <= 121


def test_the_list_follows_the_clock_and_pauses(api, shop):
    eid = create_engagement(api, shop, live_engagement("Short", trigger={"event": "buy"}))
    assert triggers(api, shop).body["triggers"] == [{"event": "buy", "conditions": []}]
    api.post(f"{shop.path}/engagements/{eid}/pause", key=shop.admin_key)
    assert triggers(api, shop).body["triggers"] == []
    api.post(f"{shop.path}/engagements/{eid}/resume", key=shop.admin_key)
    assert triggers(api, shop).body["triggers"] != []
    with time_machine.travel(datetime.now(UTC) + timedelta(days=8)):
        assert triggers(api, shop).body["triggers"] == []


def test_one_getitem_when_the_catalog_is_warm_and_nothing_is_written(api, shop, monkeypatch):
    create_engagement(api, shop, live_engagement("A", trigger={"event": "buy"}))
    fetch(api, shop, "d-1")  # the fetch compiles the catalog: the triggers reuse it
    before = store_snapshot()
    calls = []
    original = BaseClient._make_api_call

    def counted(client, operation, params):
        # the test client feeds the engagements stream after each request, as Lambda would in
        # another invocation: those reads are not the route's
        if client.meta.service_model.service_name != "dynamodbstreams":
            calls.append((client.meta.service_model.service_name, operation))
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    triggers(api, shop)
    triggers(api, shop)
    monkeypatch.undo()
    assert calls == [("dynamodb", "GetItem")] * 2
    assert store_snapshot() == before


@pytest.mark.parametrize("key", [None, "", "nope", "herald_client_app123_abc"])
def test_a_missing_or_wrong_client_key_is_401(api, shop, key):
    headers = {"X_Client_Key": key} if key is not None else {}
    assert api.get(shop.path + "/triggers", **headers).status == 401


def test_another_apps_key_or_an_admin_key_is_403(api, shop, other_shop):
    assert api.get(shop.path + "/triggers", X_Client_Key=other_shop.client_key).status == 403
    assert api.get(shop.path + "/triggers", X_Client_Key=shop.admin_key).status == 403


def test_an_app_sees_only_its_own_triggers(api, shop, other_shop):
    create_engagement(api, other_shop, live_engagement("Theirs", trigger={"event": "theirs"}))
    assert triggers(api, shop).body["triggers"] == []
