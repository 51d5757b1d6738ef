"""A tour of the whole app under moto: every route, every Lambda function, every queue consumer.

The tour is what `make infra` derives the IAM policies from and what tests/deploy checks them
and the OpenAPI document against, so it must reach every function of the app: it fails with
`Incomplete` when a route, a pure Lambda function or a queue consumer was not exercised. A new
route needs a step in `Tour.api`; a new `@app.lambda_function` needs a driver in
`Tour.DRIVERS`; a new `@app.on_sqs_message` consumer is driven with whatever the API put on its
queue during the tour.

Steps name routes by their template; a step whose route the app does not have (yet) is skipped,
so the tour can follow the SPEC ahead of the code.
"""

import copy
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import time_machine
from chalice import Chalice
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig
from chalice.test import Client
from moto import mock_aws

from chalicelib.adapters.dynamo import EngagementRecord
from chalicelib.api import openapi
from chalicelib.domain import keys
from chalicelib.local.stream import StreamFeeder, scheduled_event
from chalicelib.settings import get_settings
from deploy import contract, iam, infra

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
APP = openapi.APP
AUDIENCE = openapi.AUDIENCE
ENGAGEMENT = openapi.ENGAGEMENT
DEVICE = openapi.DEVICE


class TourFailed(Exception):
    """A step did not get the answer it expects: the app (or the tour) is broken."""


class Incomplete(Exception):
    """Something the app deploys was not exercised, so its permissions would be guessed."""


@dataclass(frozen=True)
class Answer:
    method: str
    template: str
    status: int
    headers: dict[str, str]
    body: Any
    content_type: str = contract.JSON


@dataclass
class Result:
    calls: dict[str, list[iam.Call]]
    answers: list[Answer] = field(default_factory=list)
    routes: set[tuple[str, str]] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)


@contextmanager
def environment(stage: str) -> Iterator[str]:
    """Fake AWS, the stage's resources in moto and the env the deploy would set; yields the
    root key. Everything set is put back afterwards."""
    root_key = keys.new_root_key()
    outputs = infra.resolve_outputs(infra.template(), stage, REGION, ACCOUNT)
    wanted = {
        **FAKE_AWS,
        **outputs,
        "HERALD_STAGE": stage,
        "HERALD_ROOT_KEY_HASH": keys.hash_key(root_key),
    }
    saved = {name: os.environ.get(name) for name in [*wanted, "AWS_PROFILE"]}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(wanted)
    try:
        with mock_aws():
            from chalicelib.local.resources import create_all
            from chalicelib.settings import get_settings

            create_all(get_settings())
            yield root_key
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run(app: Chalice | None = None, stage: str = "dev") -> Result:
    """Tour `app` (Herald's by default) on `stage` and return what it recorded."""
    if app is None:
        from app import app
    recorder = iam.Recorder(account=ACCOUNT)
    with environment(stage) as root_key, recorder.installed():
        client = Client(app, stage_name=stage, project_dir=str(infra.PROJECT_DIR))
        tour = Tour(app, client, recorder, root_key)
        tour.api()
        tour.streams()
        tour.lambda_functions()
        tour.consumers()
        tour.scheduled()
        tour.check_complete()
        return tour.result


def _later(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).isoformat()


def _engagement(name: str, start: timedelta, end: timedelta, **changes: Any) -> dict[str, Any]:
    """The documented example, renamed and moved to a window relative to now."""
    body = copy.deepcopy(openapi.ENGAGEMENT_EXAMPLE)
    body.update(name=name, schedule={"start_at": _later(start), "end_at": _later(end)}, **changes)
    return body


def _asking(variant: dict[str, Any]) -> dict[str, Any]:
    """The variant, its message asking a free-text question (answers are stored as items)."""
    question = {"type": "text", "prompt": "Anything to tell us?", "max_length": 200}
    return variant | {"message": variant["message"] | {"question": question}}


class Tour:
    def __init__(self, app: Chalice, client: Client, recorder: iam.Recorder, root_key: str):
        self.app = app
        self.client = client
        self.recorder = recorder
        self.root_key = root_key
        self.result = Result(calls=recorder.calls)
        self._routes = {(m, path) for path, methods in app.routes.items() for m in methods}
        self.state: dict[str, Any] = {}

    # --- the API ------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        template: str,
        status: int | tuple[int, ...],
        *,
        bearer: str | None = None,
        client_key: str | None = None,
        body: Any = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **params: str,
    ) -> Any:
        """One request through Chalice's test client, as the API handler; None when skipped."""
        if (method, template) not in self._routes:
            return None
        sent = {"Content-Type": "application/json", **(headers or {})}
        if bearer:
            sent["Authorization"] = f"Bearer {bearer}"
        if client_key:
            sent["X-Client-Key"] = client_key
        path = template.format(**params) + (f"?{urlencode(query)}" if query else "")
        raw = json.dumps(body).encode() if body is not None else b""
        with self.recorder.function(infra.API_HANDLER):
            response = self.client.http.request(method, path, headers=sent, body=raw)
        content_type, answer = contract.read_body(response.headers, response.body)
        if response.status_code not in (status if isinstance(status, tuple) else (status,)):
            raise TourFailed(f"{method} {path}: {response.status_code} {answer} (wanted {status})")
        self.result.routes.add((method, template))
        self.result.answers.append(
            Answer(
                method, template, response.status_code, dict(response.headers), answer, content_type
            )
        )
        return answer

    def api(self) -> None:
        root = self.root_key
        created = self.call(
            "POST",
            "/v1/apps",
            201,
            bearer=root,
            body=openapi.OPERATIONS[("POST", "/v1/apps")].request_example,
        )
        app_id, admin, client_key = created["app_id"], created["admin_key"], created["client_key"]
        self.state.update(app_id=app_id, admin=admin, client=client_key)
        ids = {"app_id": app_id}
        self.call("GET", APP, 200, bearer=admin, **ids)
        self.call("GET", APP, 200, bearer=root, **ids)
        settings = openapi.OPERATIONS[("PATCH", APP)].request_example
        self.call("PATCH", APP, 200, bearer=admin, body=settings, **ids)

        # trust: identity required then off again; a test device enrolled, one withdrawn
        identity = openapi.OPERATIONS[("POST", APP + "/identity")].request_example
        self.call("POST", APP + "/identity", 200, bearer=admin, body=identity, **ids)
        self.call("POST", APP + "/identity", 200, bearer=admin, body={"identity": "off"}, **ids)
        enrolment = openapi.OPERATIONS[("POST", APP + "/test-devices")].request_example
        for device_id in ("qa-phone-1", "qa-spare"):
            body = {**enrolment, "device_id": device_id}
            self.call("POST", APP + "/test-devices", 201, bearer=admin, body=body, **ids)
        self.call("GET", APP + "/test-devices", 200, bearer=admin, **ids)
        self.call(
            "DELETE",
            APP + "/test-devices/{device_id}",
            204,
            bearer=admin,
            device_id="qa-spare",
            **ids,
        )

        # audiences
        example = openapi.AUDIENCE_EXAMPLE
        french = self.call("POST", APP + "/audiences", 201, bearer=admin, body=example, **ids)
        spare = self.call(
            "POST", APP + "/audiences", 201, bearer=admin, body={**example, "name": "Spare"}, **ids
        )
        page = self.call("GET", APP + "/audiences", 200, bearer=admin, query={"limit": "1"}, **ids)
        self.call(
            "GET", APP + "/audiences", 200, bearer=admin, query={"cursor": page["cursor"]}, **ids
        )
        french_ids = {**ids, "audience_id": french["audience_id"]}
        self.call("GET", AUDIENCE, 200, bearer=admin, **french_ids)
        self.call(
            "PUT",
            AUDIENCE,
            200,
            bearer=admin,
            body={**example, "name": "French speakers"},
            headers={"If-Match": str(french["version"])},
            **french_ids,
        )

        # engagements: one scheduled (using an audience), one active now, one draft
        scheduled = self.call(
            "POST",
            APP + "/engagements",
            201,
            bearer=admin,
            body=_engagement(
                "Spring sale",
                timedelta(days=1),
                timedelta(days=8),
                audience={"audience_ids": [french["audience_id"]], "percent": 100},
            ),
            **ids,
        )
        active = self.call(
            "POST",
            APP + "/engagements",
            201,
            bearer=admin,
            body=_engagement(
                "Welcome",
                timedelta(hours=-1),
                timedelta(days=7),
                ab_test=False,
                control_percent=0,
                variants=[_asking(openapi.ENGAGEMENT_EXAMPLE["variants"][0] | {"weight": 100})],
                trigger={"event": "app_launch"},
                audience={"percent": 100},
                frequency={},
                test_device_ids=[],
            ),
            **ids,
        )
        draft = self.call(
            "POST",
            APP + "/engagements",
            201,
            bearer=admin,
            body=_engagement("Later", timedelta(days=2), timedelta(days=3), status="draft"),
            **ids,
        )
        self.state.update(scheduled=scheduled, active=active)
        for query in ({"limit": "1"}, {"status": "scheduled", "limit": "1"}):
            page = self.call("GET", APP + "/engagements", 200, bearer=admin, query=query, **ids)
            if page and page["cursor"]:
                query = {**query, "cursor": page["cursor"]}
                self.call("GET", APP + "/engagements", 200, bearer=admin, query=query, **ids)
        s_ids = {**ids, "engagement_id": scheduled["engagement_id"]}
        self.call("GET", ENGAGEMENT, 200, bearer=admin, **s_ids)
        patched = self.call(
            "PATCH",
            ENGAGEMENT,
            200,
            bearer=admin,
            body={"name": "Spring sale 2", "audience": {"audience_ids": [spare["audience_id"]]}},
            headers={"If-Match": str(scheduled["version"])},
            **s_ids,
        )
        self.call("POST", ENGAGEMENT + "/pause", 200, bearer=admin, **s_ids)
        self.call("POST", ENGAGEMENT + "/resume", 200, bearer=admin, **s_ids)
        d_ids = {**ids, "engagement_id": draft["engagement_id"]}
        published = self.call("POST", ENGAGEMENT + "/publish", 200, bearer=admin, **d_ids)
        a_ids = {**ids, "engagement_id": active["engagement_id"]}

        # devices
        device = {**ids, "device_id": "tour-phone-1"}
        self.call("PUT", DEVICE, 201, client_key=client_key, body=openapi.DEVICE_EXAMPLE, **device)
        self.call("PUT", DEVICE, 200, client_key=client_key, body=openapi.DEVICE_EXAMPLE, **device)
        self.call(
            "GET",
            DEVICE + "/messages",
            200,
            client_key=client_key,
            query={"event": "app_launch"},
            **device,
        )
        self.call(
            "POST",
            DEVICE + "/messages",
            200,
            client_key=client_key,
            body=openapi.FETCH_EXAMPLE,
            **device,
        )
        self.call(
            "GET",
            DEVICE + "/messages/explain",
            200,
            bearer=admin,
            query={"event": "app_launch"},
            **device,
        )

        # events, then their metrics
        now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        event = {
            "device_id": "tour-phone-1",
            "engagement_id": active["engagement_id"],
            "variant": "A",
            "timestamp": now,
        }
        self.call(
            "POST",
            APP + "/events",
            202,
            client_key=client_key,
            body={
                "events": [
                    {**event, "id": uuid.uuid4().hex, "type": "impression"},
                    {**event, "id": uuid.uuid4().hex, "type": "click", "element": "buy"},
                    # a second click waits for a second impression: the consumer sends it back
                    {**event, "id": uuid.uuid4().hex, "type": "click", "element": "buy"},
                    {**event, "id": uuid.uuid4().hex, "type": "response", "value": "Great"},
                    {
                        "id": uuid.uuid4().hex,
                        "device_id": "tour-phone-1",
                        "type": "custom",
                        "name": "purchase",
                        "timestamp": now,
                        "attributes": {"amount": 20},
                    },
                ]
            },
            **ids,
        )
        self.call("GET", ENGAGEMENT + "/metrics", 200, bearer=admin, **a_ids)
        self.call("GET", ENGAGEMENT + "/responses", 200, bearer=admin, **a_ids)

        # what browsers call: the triggers, preflights from an allowed origin, the web SDK
        self.call("GET", APP + "/triggers", 200, client_key=client_key, **ids)
        origin = settings["web_origins"][0]
        for path, method, params in (
            (APP + "/triggers", "GET", ids),
            (DEVICE, "PUT", device),
            (DEVICE + "/messages", "POST", device),
            (APP + "/events", "POST", ids),
            ("/sdk/herald.js", "GET", {}),
        ):
            preflight = {"Origin": origin, "Access-Control-Request-Method": method}
            query = {"app": app_id} if path.startswith("/sdk") else None
            self.call("OPTIONS", path, 204, headers=preflight, query=query, **params)
        self.call("GET", "/sdk/herald.js", 200, query={"app": app_id}, headers={"Origin": origin})
        self.call("GET", "/demo", 200)
        self.call("GET", "/demo/{name}", 200, name="demo.js")
        self.pinpoint(admin, ids, active["engagement_id"], now)
        self.call("GET", "/v1/openapi.json", 200)
        # the web console's static files (no AWS call; 404 while a file is missing)
        self.call("GET", "/console", (200, 404))
        self.call("GET", "/console/{name}", (200, 404), name="app.js")

        # deletions, then new keys (last: the old ones stop working)
        self.call(
            "DELETE",
            ENGAGEMENT,
            204,
            bearer=admin,
            headers={"If-Match": str(published["version"])},
            **d_ids,
        )
        self.call("DELETE", AUDIENCE, 204, bearer=admin, **french_ids)
        rotation = openapi.OPERATIONS[("POST", APP + "/keys/rotate")].request_example
        self.call("POST", APP + "/keys/rotate", 200, bearer=admin, body=rotation, **ids)
        self.call("POST", APP + "/keys/rotate", 200, bearer=admin, **ids)
        self.state["patched"] = patched

    # --- pure Lambda functions ---------------------------------------------------------------

    def pinpoint(self, admin: str, ids: dict, engagement_id: str, now: str) -> None:
        """The Pinpoint dialect, switched on: an endpoint, its campaigns, its events."""
        self.call("PATCH", APP, 200, bearer=admin, body={"pinpoint": {"enabled": True}}, **ids)
        endpoint = {**ids, "endpoint_id": "tour-endpoint-1"}
        request = {"ChannelType": "IN_APP", "Demographic": {"Locale": "fr-FR"}}
        self.call("PUT", openapi.PINPOINT_ENDPOINT, 202, body=request, **endpoint)
        self.call("GET", openapi.PINPOINT_ENDPOINT + "/inappmessages", 200, **endpoint)
        shown = {
            "EventType": "_inapp.message_displayed",
            "Timestamp": now,
            "Attributes": {"campaign_id": engagement_id, "treatment_id": "A"},
        }
        batch = {"tour-endpoint-1": {"Endpoint": {}, "Events": {uuid.uuid4().hex: shown}}}
        self.call("POST", APP + "/events", 202, body={"BatchItem": batch}, **ids)

    def apply_transition(self) -> None:
        """Fire the scheduled engagement's start schedule once its start has come."""
        scheduled = self.state["scheduled"]
        settings_group = os.environ["HERALD_SCHEDULE_GROUP"]
        schedule = boto3.client("scheduler", region_name=REGION).get_schedule(
            Name=f"{scheduled['engagement_id']}-start", GroupName=settings_group
        )
        firing = json.loads(schedule["Target"]["Input"])
        start = datetime.fromisoformat(scheduled["schedule"]["start_at"])
        with time_machine.travel(start + timedelta(minutes=1), tick=False):
            outcome = self.invoke(infra.TRANSITION_FUNCTION, firing)
        if outcome.get("outcome") != "changed":
            raise TourFailed(f"the start firing should have changed the status: {outcome}")

    DRIVERS = {infra.TRANSITION_FUNCTION: apply_transition}

    def invoke(self, function: str, payload: Any) -> Any:
        with self.recorder.function(function):
            answer = self.client.lambda_.invoke(function, payload).payload
        self.result.functions.add(function)
        return answer

    def lambda_functions(self) -> None:
        for function in self.app.pure_lambda_functions:
            driver = self.DRIVERS.get(function.name)
            if driver is None:
                raise Incomplete(
                    f"no tour driver for @app.lambda_function {function.name!r}: "
                    "add one to deploy/tour.py Tour.DRIVERS"
                )
            driver(self)

    # --- queue consumers ---------------------------------------------------------------------

    def consumers(self) -> None:
        """Hand each consumer what the tour put on its queue, as Lambda's SQS poller would."""
        sqs = boto3.client("sqs", region_name=REGION)
        for source in self.app.event_sources:
            if isinstance(source, (DynamoDBEventConfig, ScheduledEventConfig)):
                continue  # streams() and scheduled()
            if not isinstance(source, SQSEventConfig):
                raise Incomplete(f"no tour support for {type(source).__name__} {source.name}")
            queue = iam.sqs_queue_name(source)
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=min(source.batch_size, 10)
            ).get("Messages", [])
            if not messages:
                raise Incomplete(f"the tour put no message on {queue} for {source.name}")
            event = {
                "Records": [
                    {
                        "messageId": message["MessageId"],
                        "receiptHandle": message["ReceiptHandle"],
                        "body": message["Body"],
                        "attributes": {"ApproximateReceiveCount": "1"},
                        "messageAttributes": {},
                        "md5OfBody": message["MD5OfBody"],
                        "eventSource": "aws:sqs",
                        "eventSourceARN": arn["Attributes"]["QueueArn"],
                        "awsRegion": REGION,
                    }
                    for message in messages
                ]
            }
            outcome = self.invoke(source.name, event)
            if isinstance(outcome, dict) and outcome.get("batchItemFailures"):
                raise TourFailed(f"{source.name} failed messages of the tour: {outcome}")

    # --- stream functions and scheduled functions -----------------------------------------

    def streams(self) -> None:
        """Hand each stream function the records the tour's writes left, as Lambda would."""
        for source in self.app.event_sources:
            if not isinstance(source, DynamoDBEventConfig):
                continue
            feeder = StreamFeeder(
                self.app,
                source,
                get_settings(),
                invoke=lambda event, _context, name=source.name: self.invoke(name, event),
            )
            feeder.drain()
            if not feeder.invocations or feeder.on_failure or feeder.failed_invocations:
                raise TourFailed(f"{source.name} did not take the tour's records cleanly")

    def scheduled(self) -> None:
        """The sweep, once with every engagement's schedules out of sync (a stream record that
        ended in the on-failure queue), once a month later (every boundary passed), so it
        makes every call its repairs need."""
        for source in self.app.event_sources:
            if not isinstance(source, ScheduledEventConfig):
                continue
            for record in EngagementRecord.scan():  # the tour's own set-up, not the function's
                record.update(actions=[EngagementRecord.synced_revision.remove()])
            repaired = self.invoke(source.name, scheduled_event(REGION))
            if not repaired.get("schedules"):
                raise TourFailed(f"{source.name} repaired no schedule: {repaired}")
            with time_machine.travel(datetime.now(UTC) + timedelta(days=31), tick=False):
                repaired = self.invoke(source.name, scheduled_event(REGION))
            if not repaired.get("statuses"):
                raise TourFailed(f"{source.name} repaired no status: {repaired}")

    # --- coverage -----------------------------------------------------------------------------

    def check_complete(self) -> None:
        missing = sorted(self._routes - self.result.routes)
        if missing:
            raise Incomplete(
                "routes the tour did not exercise (add steps to deploy/tour.py Tour.api): "
                + ", ".join(f"{m} {p}" for m, p in missing)
            )
        expected = set(iam.functions(self.app)) - {infra.API_HANDLER}
        if expected - self.result.functions:
            raise Incomplete(f"functions never invoked: {sorted(expected - self.result.functions)}")
