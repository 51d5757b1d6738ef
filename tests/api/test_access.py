"""A missing, malformed or wrong-app key is refused before any DynamoDB request, on every route
(SPEC §7.4): a client key is public, and refusing it must cost nothing."""

import re

import pytest
from botocore.client import BaseClient

from app import app

# Routes that take no key: documents, static files and the demo page, and the Pinpoint
# dialect, whose credential is the app id (SigV4 cannot be verified, SPEC §6.3).
PUBLIC = re.compile(r"^/(console|sdk|demo)(/|$)|^/v1/openapi\.json$|/endpoints/")


def keyed_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, path)
        for path, methods in app.routes.items()
        if not PUBLIC.search(path)
        for method in methods
        if method != "OPTIONS"
    )


@pytest.fixture
def dynamodb_requests(monkeypatch) -> list[str]:
    calls: list[str] = []
    original = BaseClient._make_api_call

    def counted(client, operation, params):
        if client.meta.service_model.service_name == "dynamodb":
            calls.append(operation)
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    return calls


def concrete(path: str, app_id: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: app_id if m.group(1) == "app_id" else "x-1", path)


@pytest.mark.parametrize(("method", "path"), keyed_routes())
def test_every_route_refuses_bad_keys_before_reading_dynamodb(
    api, shop, other_shop, dynamodb_requests, method, path
):
    url = concrete(path, shop.app_id)
    garbage = "herald_client_" + "z" * 30
    attempts = {
        "no key": {},
        "malformed": {"Authorization": "Bearer nonsense", "X-Client-Key": garbage},
        "not bearer": {"Authorization": shop.admin_key, "X-Client-Key": ""},
        "another app's": {
            "Authorization": f"Bearer {other_shop.admin_key}",
            "X-Client-Key": other_shop.client_key,
        },
        "admin key as client key": {"X-Client-Key": shop.admin_key},
        "client key as admin key": {"Authorization": f"Bearer {shop.client_key}"},
    }
    for name, headers in attempts.items():
        dynamodb_requests.clear()
        reply = api.call(method, url, {}, **{k.replace("-", "_"): v for k, v in headers.items()})
        assert reply.status in (401, 403), (name, reply.status, reply.body)
        assert reply.body["Code"] in ("UnauthorizedError", "ForbiddenError"), name
        assert dynamodb_requests == [], (name, dynamodb_requests)


def test_the_routes_are_all_checked():
    routes = keyed_routes()
    assert ("GET", "/v1/apps/{app_id}/devices/{device_id}/messages") in routes
    assert ("POST", "/v1/apps/{app_id}/events") in routes
    assert ("POST", "/v1/apps") in routes
    assert len(routes) >= 20
