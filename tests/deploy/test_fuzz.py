"""A property-based fuzz of every route (taken from app.routes): valid, nearly valid and invalid
keys, ids, query parameters, headers and bodies. Whatever is sent, the answer is never a 5xx,
every 4xx carries the JSON error body {Code, Message}, and every answer is one the OpenAPI
document describes for that route.

Bodies start from the documented example of the route's request model and are mutated (fields
dropped, replaced by any JSON value, unknown ones added), or are arbitrary JSON, bytes, or too
large. Examples are derandomized, so `make test` is reproducible; set HERALD_FUZZ_EXAMPLES (and
HERALD_FUZZ_RANDOM=1) to search wider.
"""

import copy
import itertools
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from app import app
from chalicelib.api import openapi
from chalicelib.local.resources import create_all
from chalicelib.settings import get_settings
from deploy import contract, infra
from tests.conftest import ROOT_KEY, use_test_environment

# schemathesis (tests/contract) sends every route valid and invalid data by the document with
# every check; this fuzz keeps what it alone sends: other apps' keys, garbage keys and ids,
# other content types, unknown query parameters, bytes and oversized bodies. Fewer examples.
EXAMPLES = int(os.environ.get("HERALD_FUZZ_EXAMPLES", "10"))
DESTRUCTIVE = ("DELETE", "/keys/rotate")  # fuzzed last: they take ids and keys away from the rest
ROUTES = sorted(
    ((method, path) for path, methods in app.routes.items() for method in methods),
    key=lambda route: (any(mark in f"{route[0]} {route[1]}" for mark in DESTRUCTIVE), route),
)
CONTRACT = contract.Contract(openapi.document(app))
NAMES = itertools.count()
STATUSES: dict[str, list[int]] = {}  # what the fuzz got, per route (printed with -s)

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=os.environ.get("HERALD_FUZZ_RANDOM") != "1",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def later(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).isoformat()


class World:
    """Two apps with audiences, engagements in several states and a device: ids to aim at."""

    def __init__(self, client: Client):
        self.client = client
        self.ids: dict[str, list[str]] = {}
        mine, other = self._app("Shop"), self._app("Other")
        self.keys = {
            "admin": mine["admin_key"],
            "client": mine["client_key"],
            "root": ROOT_KEY,
            "other_admin": other["admin_key"],
            "other_client": other["client_key"],
        }
        self.ids["app_id"] = [mine["app_id"], other["app_id"]]
        base = f"/v1/apps/{mine['app_id']}"
        audience = self._post(base + "/audiences", openapi.AUDIENCE_EXAMPLE)
        self.ids["audience_id"] = [audience["audience_id"]]
        engagements = [
            self._post(base + "/engagements", self.engagement("Soon", days=1)),
            self._post(base + "/engagements", self.engagement("Now", days=-1)),
            self._post(
                base + "/engagements", {**self.engagement("Draft", days=2), "status": "draft"}
            ),
        ]
        self.ids["engagement_id"] = [e["engagement_id"] for e in engagements]
        self.versions = [str(e["version"]) for e in engagements]
        self.ids["device_id"] = ["phone-1", "never-registered"]
        self.ids["endpoint_id"] = self.ids["device_id"]  # the Pinpoint dialect's name for them
        self._request("PATCH", base, {"pinpoint": {"enabled": True}}, self.keys["admin"])
        self._request(
            "PUT",
            base + "/devices/phone-1",
            openapi.DEVICE_EXAMPLE,
            self.keys["client"],
            client_key=True,
        )

    def learn(self, answer: Any) -> None:
        """Rotated keys replace the old ones, so later examples still get past authentication."""
        if isinstance(answer, dict) and answer.get("app_id") == self.ids["app_id"][0]:
            for kind in ("admin", "client"):
                if f"{kind}_key" in answer:
                    self.keys[kind] = answer[f"{kind}_key"]

    @staticmethod
    def engagement(name: str, days: int) -> dict:
        body = copy.deepcopy(openapi.ENGAGEMENT_EXAMPLE)
        start = timedelta(days=days) if days > 0 else timedelta(hours=-1)
        body.update(
            name=name, schedule={"start_at": later(start), "end_at": later(timedelta(days=9))}
        )
        return body

    def _app(self, name: str) -> dict:
        return self._request("POST", "/v1/apps", {"name": name}, ROOT_KEY)

    def _post(self, path: str, body: dict) -> dict:
        return self._request("POST", path, body, self.keys["admin"])

    def _request(self, method, path, body, key, client_key=False) -> dict:
        headers = {"Content-Type": "application/json"}
        headers["X-Client-Key" if client_key else "Authorization"] = (
            key if client_key else f"Bearer {key}"
        )
        response = self.client.http.request(
            method, path, headers=headers, body=json.dumps(body).encode()
        )
        assert response.status_code in (200, 201), response.body
        return json.loads(response.body)


@pytest.fixture(scope="module")
def world():
    """One world for the whole fuzz (building one costs seconds); destructive routes run last."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        use_test_environment(patch)
        create_all(get_settings())
        yield World(Client(app, project_dir=str(infra.PROJECT_DIR)))


# --- strategies --------------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "2026-12-01T09:00:00+01:00", "2026-12-01T09:00:00", "#FFFFFF", "A"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
SEGMENT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/?#"),
    min_size=1,
    max_size=40,
)


def paths_in(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = []
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return found
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths_in(child, (*prefix, key)))
    return found


@st.composite
def mutated(draw, seed: Any) -> Any:
    """The seed with a few fields dropped, replaced by any JSON, or joined by unknown ones."""
    body = copy.deepcopy(seed)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        paths = paths_in(body)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON)
        elif action == "drop":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(JSON)
        else:
            parent.append(draw(JSON))
    return body


def body_strategy(operation: openapi.Operation) -> st.SearchStrategy:
    seed = operation.request_example
    if seed is not None and "schedule" in seed:  # the documented dates may be past: move them
        seed = {**seed, "schedule": World.engagement("", days=1)["schedule"]}
    as_json = st.builds(lambda value: json.dumps(value).encode(), JSON)
    options = [as_json, st.binary(max_size=64), st.just(b""), st.just(b"[" * 100000)]
    if seed is not None:
        seeds = st.just(seed)
        if "name" in seed:  # a new name each time, or most creations would only meet a conflict
            seeds = st.builds(
                lambda fixed: {**fixed, "name": f"Fuzzed {next(NAMES)}"}, st.just(seed)
            )
        valid = st.builds(lambda value: json.dumps(value).encode(), seeds.flatmap(mutated))
        options = [valid, valid, valid, *options]
    return st.one_of(*options)


def auth_strategy() -> st.SearchStrategy:
    """Mostly the right key for the route, sometimes any other or none."""
    return st.sampled_from(
        [
            "right",
            "right",
            "right",
            "root",
            "admin",
            "client",
            "other_admin",
            "other_client",
            "none",
            "garbage",
            "malformed",
        ]
    )


def headers_for(choice: str, operation: openapi.Operation, world: World) -> dict[str, str]:
    right = {openapi.ROOT: "root", openapi.ADMIN: "admin", openapi.CLIENT: "client"}.get(
        operation.auth
    )
    kind = right if choice == "right" else choice
    if kind in (None, "none"):
        return {}
    if kind == "garbage":
        return {"Authorization": "Bearer herald_admin_nope_0000", "X-Client-Key": "nope"}
    if kind == "malformed":
        return {"Authorization": "Basic dXNlcjpwYXNz", "X-Client-Key": ""}
    key = world.keys[kind]
    return {"X-Client-Key": key} if "client" in kind else {"Authorization": f"Bearer {key}"}


@st.composite
def requests(draw, method: str, template: str, world: World) -> dict:
    operation = openapi.OPERATIONS[(method, template)]
    # Three times in four, a caller that gets past authentication, so the body and parameters
    # are what gets tested; otherwise any key, any ids, any content type.
    chaos = draw(st.integers(min_value=0, max_value=3)) == 0
    params = {}
    for name in openapi.path_params(template):
        known = world.ids.get(name, [])  # a new kind of id is fuzzed with random values only
        if chaos or not known:
            params[name] = draw(st.sampled_from(known) | SEGMENT if known else SEGMENT)
        else:
            params[name] = draw(st.sampled_from(known[:1] if name == "app_id" else known))
    content_types = ["application/json", "application/json; charset=utf-8", "text/plain"]
    headers = {
        "Content-Type": draw(st.sampled_from(content_types)) if chaos else "application/json",
        **headers_for(draw(auth_strategy()) if chaos else "right", operation, world),
    }
    if any(p.name == "If-Match" for p in operation.params) or draw(st.booleans()):
        headers["If-Match"] = draw(st.sampled_from(world.versions) | st.text(max_size=12))
    query = {}
    for param in operation.params:
        if param.where == "query" and draw(st.booleans()):
            query[param.name] = draw(
                st.sampled_from(param.schema.get("enum", ["1", "100", "0", "abc"]))
                | st.text(max_size=30)
            )
    if draw(st.booleans()):
        query[draw(st.text(min_size=1, max_size=8))] = draw(st.text(max_size=8))
    body = draw(body_strategy(operation)) if method in ("POST", "PUT", "PATCH") else b""
    path = template.format(**params) + (f"?{urlencode(query)}" if query else "")
    return {"method": method, "path": path, "headers": headers, "body": body}


# --- the property -----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_no_request_gets_a_5xx_and_every_answer_is_documented(world, method, template):
    @FUZZ
    @given(data=st.data())
    def check(data):
        request = data.draw(requests(method, template, world))
        response = world.client.http.request(
            request["method"], request["path"], headers=request["headers"], body=request["body"]
        )
        where = (
            f"{request['method']} {request['path']} {request['headers']} {request['body'][:300]!r}"
        )
        status = response.status_code
        assert status < 500, f"{where} -> {status} {response.body[:500]!r}"
        content_type, body = contract.read_body(response.headers, response.body)
        if 400 <= status < 500:
            assert isinstance(body, dict), f"{where} -> {status} {content_type} {body}"
            assert isinstance(body.get("Code"), str) and isinstance(body.get("Message"), str), body
        problems = CONTRACT.problems(method, template, status, body, content_type)
        assert problems == [], f"{where}: {problems}"
        world.learn(body)
        STATUSES.setdefault(f"{method} {template}", []).append(response.status_code)

    check()


def teardown_module():
    if os.environ.get("HERALD_FUZZ_REPORT"):
        from collections import Counter

        for route, found in STATUSES.items():
            print(route, dict(Counter(found)))
