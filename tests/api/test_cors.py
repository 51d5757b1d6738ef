"""CORS for browsers: the device routes and /sdk/herald.js answer an Origin listed in the app's
web_origins, preflights included, and give any other origin no CORS header at all."""

from datetime import UTC, datetime

import pytest
from botocore.client import BaseClient

from tests.api.device_helpers import create_engagement, fetch, live_engagement

SHOP = "https://shop.example.com"
EVIL = "https://evil.example.com"
CORS_HEADERS = {
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Allow-Credentials",
}


@pytest.fixture
def web_shop(api, shop):
    reply = api.patch(
        shop.path, {"web_origins": [SHOP, "http://localhost:5173"]}, key=shop.admin_key
    )
    assert reply.status == 200
    return shop


def cors_of(reply) -> dict:
    return {name: value for name, value in reply.headers.items() if name in CORS_HEADERS}


def event_body():
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "events": [
            {"id": "e-1", "device_id": "d-1", "type": "custom", "name": "x", "timestamp": now}
        ]
    }


ROUTES = [
    ("PUT", "/devices/d-1", {}, 201),
    ("GET", "/devices/d-1/messages", None, 200),
    ("POST", "/devices/d-1/messages", {"event": "checkout"}, 200),
    ("GET", "/triggers", None, 200),
    ("POST", "/events", "events", 202),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), ROUTES)
def test_an_allowed_origin_gets_its_cors_headers(api, web_shop, method, path, body, status):
    body = event_body() if body == "events" else body
    reply = api.call(
        method, web_shop.path + path, body, Origin=SHOP, X_Client_Key=web_shop.client_key
    )
    assert reply.status == status, reply.body
    assert reply.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Retry-After" in reply.headers["Access-Control-Expose-Headers"]
    assert reply.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in reply.headers


@pytest.mark.parametrize(("method", "path", "body", "status"), ROUTES)
@pytest.mark.parametrize(
    "origin", [EVIL, "https://shop.example.com.evil.com", "http://shop.example.com", "null", "*"]
)
def test_any_other_origin_gets_no_cors_header(api, web_shop, method, path, body, status, origin):
    body = event_body() if body == "events" else body
    reply = api.call(
        method, web_shop.path + path, body, Origin=origin, X_Client_Key=web_shop.client_key
    )
    assert reply.status == status
    assert cors_of(reply) == {}


def test_an_origin_of_another_app_is_not_allowed_here(api, web_shop, other_shop):
    api.patch(other_shop.path, {"web_origins": [EVIL]}, key=other_shop.admin_key)
    reply = api.get(web_shop.path + "/triggers", Origin=EVIL, X_Client_Key=web_shop.client_key)
    assert cors_of(reply) == {}


def test_errors_carry_cors_headers_so_the_page_can_read_them(api, web_shop):
    bad_body = api.post(
        web_shop.path + "/devices/d-1/messages",
        {"event": 7},
        Origin=SHOP,
        X_Client_Key=web_shop.client_key,
    )
    assert bad_body.status == 400
    assert bad_body.headers["Access-Control-Allow-Origin"] == SHOP
    wrong_key = api.get(web_shop.path + "/triggers", Origin=SHOP, X_Client_Key="nope")
    assert wrong_key.status == 401
    assert wrong_key.headers["Access-Control-Allow-Origin"] == SHOP


def test_without_web_origins_nothing_is_allowed(api, shop):
    reply = api.get(shop.path + "/triggers", Origin=SHOP, X_Client_Key=shop.client_key)
    assert reply.status == 200 and cors_of(reply) == {}


def test_removing_an_origin_stops_it_at_once(api, web_shop):
    api.patch(web_shop.path, {"web_origins": ["http://localhost:5173"]}, key=web_shop.admin_key)
    reply = api.get(web_shop.path + "/triggers", Origin=SHOP, X_Client_Key=web_shop.client_key)
    assert cors_of(reply) == {}


@pytest.mark.parametrize(
    ("path", "method", "allowed"),
    [
        ("/triggers", "GET", "GET"),
        ("/devices/d-1", "PUT", "PUT"),
        ("/devices/d-1/messages", "POST", "GET, POST"),
        ("/events", "POST", "POST"),
    ],
)
def test_a_preflight_from_an_allowed_origin(api, web_shop, path, method, allowed):
    reply = api.call(
        "OPTIONS",
        web_shop.path + path,
        Origin=SHOP,
        Access_Control_Request_Method=method,
        Access_Control_Request_Headers="content-type,x-client-key",
    )
    assert reply.status == 204
    assert cors_of(reply) == {
        "Access-Control-Allow-Origin": SHOP,
        "Access-Control-Allow-Methods": allowed,
        "Access-Control-Allow-Headers": "Content-Type, X-Client-Key, X-Herald-Test-Token",
        "Access-Control-Max-Age": "600",
    }


@pytest.mark.parametrize(
    ("origin", "method", "app"),
    [
        (EVIL, "POST", None),
        (SHOP, "DELETE", None),
        (SHOP, None, None),
        (None, "POST", None),
        (SHOP, "POST", "app-unknown"),
    ],
)
def test_a_preflight_that_does_not_fit_gets_no_cors_header(api, web_shop, origin, method, app):
    headers = {}
    if origin:
        headers["Origin"] = origin
    if method:
        headers["Access_Control_Request_Method"] = method
    path = f"/v1/apps/{app}/events" if app else web_shop.path + "/events"
    reply = api.call("OPTIONS", path, **headers)
    assert reply.status == 204
    assert cors_of(reply) == {}


def test_the_fetch_with_an_origin_costs_no_extra_dynamodb_request(api, web_shop, monkeypatch):
    create_engagement(api, web_shop, live_engagement("A"))
    fetch(api, web_shop, "d-1")  # warms the catalog
    calls = []
    original = BaseClient._make_api_call

    def counted(client, operation, params):
        if client.meta.service_model.service_name == "dynamodb":
            calls.append(operation)
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    path = web_shop.path + "/devices/d-1/messages"
    api.get(path, X_Client_Key=web_shop.client_key)
    plain = list(calls)
    calls.clear()
    reply = api.get(path, Origin=SHOP, X_Client_Key=web_shop.client_key)
    monkeypatch.undo()
    assert reply.headers["Access-Control-Allow-Origin"] == SHOP
    assert calls == plain


def test_the_sdk_script_answers_the_origins_of_the_app_it_names(chalice_client, web_shop):
    def get(path, origin, method="GET", **headers):
        sent = {"Origin": origin, **headers}
        return chalice_client.http.request(method, path, headers=sent, body=b"")

    named = f"/sdk/herald.js?app={web_shop.app_id}"
    allowed = get(named, SHOP)
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == SHOP
    assert cors_of(get(named, EVIL)) == {}
    assert cors_of(get("/sdk/herald.js", SHOP)) == {}
    assert cors_of(get("/sdk/herald.js?app=app-unknown", SHOP)) == {}
    preflight = get(named, SHOP, "OPTIONS", **{"Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Allow-Origin"] == SHOP
