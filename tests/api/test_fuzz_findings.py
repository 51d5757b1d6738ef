"""Each input an outside fuzzer found answered with a 500 or accepted wrongly (issue 9), as a
regression test: a clear 400 (or 404) with {Code, Message}, and nothing stored."""

import http.client
import json
from datetime import UTC, datetime

import pytest

from tests.api.device_helpers import create_engagement, live_engagement
from tests.builders import minimal_engagement
from tests.conftest import store_snapshot
from tests.local.test_server import call


def _refused(reply, status=400):
    assert reply.status == status, reply.body
    assert {"Code", "Message"} <= set(reply.body), reply.body  # events: both dialects


@pytest.mark.parametrize(
    "start_at",
    [
        "0001-01-01T00:00:00Z",
        "0999-06-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "1000-01-01T00:30:00+01:00",  # 0999 in UTC
        "1764590000",  # a numeric string pydantic would read as seconds since 1970
        "2026-12-01",
        "٢٠٢٦-12-01T09:00:00Z",  # Arabic-Indic digits
        "2026-12-01T09:00:00",  # no offset
    ],
)
def test_a_start_outside_the_years_or_not_rfc3339_is_refused(api, shop, start_at):
    before = store_snapshot()
    body = minimal_engagement(schedule={"start_at": start_at, "end_at": "2030-01-01T00:00:00Z"})
    reply = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    _refused(reply)
    assert "schedule.start_at" in reply.body["Message"]
    assert store_snapshot() == before


@pytest.mark.parametrize("end_at", ["9999-12-31T23:59:59-01:00", "9998-12-31T23:30:00-01:00"])
def test_an_end_past_9998_in_utc_is_refused(api, shop, end_at):
    body = minimal_engagement(schedule={"start_at": "2030-01-01T00:00:00Z", "end_at": end_at})
    _refused(api.post(shop.path + "/engagements", body, key=shop.admin_key))


def test_the_extreme_years_round_trip_through_patch_and_pause(api, shop):
    body = minimal_engagement(
        schedule={"start_at": "9998-01-01T00:00:00+01:00", "end_at": "9998-12-31T23:59:59Z"}
    )
    created = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert created.status == 201, created.body
    path = f"{shop.path}/engagements/{created.body['engagement_id']}"
    patched = api.patch(path, {"priority": 2}, key=shop.admin_key, If_Match="1")
    assert patched.status == 200, patched.body
    assert api.post(path + "/pause", key=shop.admin_key).status == 200
    assert api.get(path, key=shop.admin_key).body["status"] == "paused"


@pytest.mark.parametrize("limit", ["²", "①", "٣", "3.0", "-1", "03", " 3"])
def test_a_limit_in_other_digits_is_refused(api, shop, limit):
    for route in ("/engagements", "/audiences"):
        reply = api.get(f"{shop.path}{route}?limit={limit}", key=shop.admin_key)
        _refused(reply)
        assert "limit" in reply.body["Message"]


def test_a_cursor_of_deeply_nested_json_is_refused(api, shop):
    import base64

    nested = base64.urlsafe_b64encode(("[" * 100_000 + "]" * 100_000).encode()).decode()
    for route in ("/engagements", "/audiences"):
        reply = api.get(f"{shop.path}{route}?cursor={nested[:4000]}", key=shop.admin_key)
        _refused(reply)


def test_a_well_formed_cursor_continues_after_that_id_even_if_unknown(api, shop):
    for index in range(3):
        create_engagement(api, shop, live_engagement(f"E{index}"))
    first = api.get(f"{shop.path}/engagements?limit=1", key=shop.admin_key).body
    second = api.get(
        f"{shop.path}/engagements?limit=5&cursor={first['cursor']}", key=shop.admin_key
    ).body
    assert len(second["engagements"]) == 2 and second["cursor"] is None
    nowhere = api.get(f"{shop.path}/engagements?cursor=eng{'f' * 28}", key=shop.admin_key)
    assert nowhere.status == 200 and nowhere.body["engagements"] == []


NOT_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400"]


@pytest.mark.parametrize("number", NOT_NUMBERS)
def test_nan_and_infinities_are_refused_in_devices_fetches_and_events(api, shop, number):
    before = store_snapshot()
    raw = '{"attributes": {"score": NUMBER}}'.replace("NUMBER", number)
    device = api.put(f"{shop.path}/devices/d-1", raw, X_Client_Key=shop.client_key)
    _refused(device)
    fetched = api.post(f"{shop.path}/devices/d-1/messages", raw, X_Client_Key=shop.client_key)
    _refused(fetched)
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    event = (
        (
            '{"events": [{"id": "e-1", "device_id": "d-1", "type": "custom", "name": "buy", '
            '"timestamp": "NOW", "attributes": {"score": NUMBER}}]}'
        )
        .replace("NOW", now)
        .replace("NUMBER", number)
    )
    _refused(api.post(f"{shop.path}/events", event, X_Client_Key=shop.client_key))
    engagement = json.dumps(minimal_engagement()).replace(
        '"name"', '"priority": ' + number + ', "name"'
    )
    _refused(api.post(shop.path + "/engagements", engagement, key=shop.admin_key))
    assert store_snapshot() == before


def test_a_numeric_string_is_not_an_event_timestamp(api, shop):
    body = {
        "events": [
            {
                "id": "e-1",
                "device_id": "d-1",
                "type": "custom",
                "name": "buy",
                "timestamp": str(int(datetime.now(UTC).timestamp())),
            }
        ]
    }
    reply = api.post(f"{shop.path}/events", body, X_Client_Key=shop.client_key)
    _refused(reply)
    assert "events[0].timestamp" in reply.body["Message"]


@pytest.mark.parametrize("version", ["\u0663", "\uff11"])  # Arabic-Indic three, fullwidth one
def test_if_match_in_other_digits_is_refused(api, shop, version):
    eid = create_engagement(api, shop, live_engagement("E"))
    path = f"{shop.path}/engagements/{eid}"
    _refused(api.patch(path, {"priority": 2}, key=shop.admin_key, If_Match=version))


def test_metrics_days_in_other_digits_are_refused(api, shop):
    eid = create_engagement(api, shop, live_engagement("E"))
    reply = api.get(f"{shop.path}/engagements/{eid}/metrics?from=٢٠٢٦-01-01", key=shop.admin_key)
    _refused(reply)


def test_unknown_routes_and_methods_answer_code_and_message_on_the_local_run(herald):
    status, body = call(herald, "GET", "/v1/nothing-here")
    assert status == 404 and set(body) == {"Code", "Message"}, body
    status, body = call(herald, "GET", "/")
    assert status == 404 and set(body) == {"Code", "Message"}, body
    status, body = call(herald, "PATCH", "/v1/apps")
    assert status == 405 and set(body) == {"Code", "Message"}, body


def test_patches_that_would_grow_an_engagement_past_its_stored_limit_are_413(api, shop):
    """A merge patch merges objects: small PATCHes, each within the 64 KiB body limit, filling
    the audience's id lists and the trigger one after another must stop at the stored limit
    with a 413, leaving the engagement as the last accepted PATCH made it."""
    eid = create_engagement(api, shop, minimal_engagement("Growing"))
    path = f"{shop.path}/engagements/{eid}"
    ids = [f"{n:04d}{'x' * 96}" for n in range(500)]  # ~51 KB of JSON a list
    data = {f"k{n}": "y" * 1000 for n in range(20)}  # ~20 KB a variant
    variants = [
        {"key": k, "weight": 50, "message": {"layout": "modal", "title": k, "data": data}}
        for k in "AB"
    ]
    patches = [
        {"audience": {"user_ids": ids}},
        {"audience": {"device_ids": ids}},
        {"description": "z" * 1000},
        {"variants": variants, "ab_test": True},  # 160 KB stored with the lists: refused
    ]
    statuses = []
    for patch in patches:
        current = api.get(path, key=shop.admin_key).body
        reply = api.patch(path, patch, key=shop.admin_key, If_Match=str(current["version"]))
        statuses.append(reply.status)
        if reply.status != 200:
            break
    assert statuses[-1] == 413, (statuses, reply.body)
    assert set(statuses[:-1]) == {200}
    _refused(reply, 413)
    assert "the limit is 131072" in reply.body["Message"]
    assert api.get(path, key=shop.admin_key).body == current


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND"])
def test_methods_chalice_does_not_serve_answer_json_on_the_local_run(herald, method):
    # schemathesis found TRACE answered with http.server's HTML 501
    def send(path):
        connection = http.client.HTTPConnection("127.0.0.1", herald.port, timeout=10)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return response.status, response.getheader("Allow"), json.loads(response.read())
        finally:
            connection.close()

    status, allow, body = send("/v1/apps")
    assert (status, allow) == (405, "POST") and set(body) == {"Code", "Message"}, body
    status, _allow, body = send("/v1/nothing-here")
    assert status == 404 and set(body) == {"Code", "Message"}, body


# --- schemathesis findings: what the OpenAPI document allows is accepted (issue 9) ---------


def test_a_whole_number_written_with_a_fraction_is_that_integer(api, shop):
    # JSON Schema counts 3.0 and 1e1 as integers; strict models refused them
    body = {**minimal_engagement(), "priority": 3.0, "frequency": {"max_per_day": 1e1}}
    created = api.post(shop.path + "/engagements", body, key=shop.admin_key)
    assert created.status == 201, created.body
    assert (created.body["priority"], created.body["frequency"]["max_per_day"]) == (3, 10)
    rotated = api.post(
        shop.path + "/keys/rotate", {"kind": "client", "overlap_hours": 2.0}, key=shop.admin_key
    )
    assert rotated.status == 200, rotated.body
    assert (
        api.post(shop.path + "/engagements", {**body, "priority": 3.5}, key=shop.admin_key).status
        == 400
    )


@pytest.mark.parametrize(
    "origin", ["https://shop_1.example.com", "https://shop.example.com.", "https://a..b"]
)
def test_an_origin_off_the_documented_pattern_is_refused(api, shop, origin):
    before = store_snapshot()
    reply = api.patch(shop.path, {"web_origins": [origin]}, key=shop.admin_key)
    _refused(reply)
    assert "web_origins[0]" in reply.body["Message"]
    assert store_snapshot() == before
