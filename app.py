"""Herald's Chalice app: HTTP routes, the events consumer and the schedule target, wired to
services. No logic here."""

import functools
import uuid

from chalice import Chalice, Rate, Response

from chalicelib import console, demo, lazy, observability, websdk
from chalicelib.api import cors
from chalicelib.errors import HeraldError, InvalidInput, NotFound, ServiceUnavailable
from chalicelib.settings import engagements_stream_arn, events_queue_name
from chalicelib.wiring import services

# Loaded by the first handler that reads them, not with app.py: every function of the stage
# imports this module whole (the cold start, docs/OPERATIONS.md).
access = lazy.module("chalicelib.services.access")
apps = lazy.module("chalicelib.services.apps")
bodies = lazy.module("chalicelib.api.bodies")
consumer = lazy.module("chalicelib.services.consumer")
eligibility = lazy.module("chalicelib.domain.eligibility")
events = lazy.module("chalicelib.adapters.events")
models = lazy.module("chalicelib.api.models")
pinpoint = lazy.module("chalicelib.dialects.pinpoint")
throttling = lazy.module("chalicelib.adapters.throttling")
trust = lazy.module("chalicelib.services.trust")

# Chalice's app.log is the `herald` logger, which chalicelib.observability gives Powertools' JSON.
app = Chalice(app_name="herald", configure_logs=False)

APP = "/v1/apps/{app_id}"
AUDIENCE = APP + "/audiences/{audience_id}"
ENGAGEMENT = APP + "/engagements/{engagement_id}"
DEVICE = APP + "/devices/{device_id}"


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        body=body,
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(error: HeraldError) -> Response:
    retry = getattr(error, "retry_after_seconds", None)
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return _json({"Code": error.code, "Message": str(error)}, error.status_code, headers)


def _invocation(kind: str, message: str, lambda_context, **fields):
    """One log line and one set of metrics for this invocation (chalicelib/observability.py)."""
    request_id = getattr(lambda_context, "aws_request_id", None)
    return observability.invocation(kind, message, request_id=request_id, **fields)


def route(path: str, method: str):
    """Register a route whose domain errors become JSON errors with their 4xx status, logged and
    measured once per request."""
    template = f"{method} {path}"

    def register(view):
        @functools.wraps(view)
        def handle(**params):
            context = _request().context or {}
            with _invocation(
                "http",
                template,
                app.lambda_context,
                route=template,
                app_id=params.get("app_id"),
                api_request_id=context.get("requestId"),
            ):
                try:
                    response = view(**params)
                except HeraldError as error:
                    observability.note(error=error.code)
                    response = _error(error)
                except Exception as error:
                    if not throttling.is_transient(error):
                        raise
                    app.log.warning("%s: AWS throttled (%s); answered 503", template, error)
                    observability.note(error=ServiceUnavailable.code)
                    response = _error(
                        ServiceUnavailable("the store is busy; retry after Retry-After")
                    )
                observability.note(status=response.status_code)
                return response

        return app.route(path, methods=[method])(handle)

    return register


# --- routes browsers call: CORS for the app's web_origins ------------------------------------

BROWSER_METHODS: dict[str, tuple[str, ...]] = {}  # path -> the methods its preflight allows


def _origins_of(app_id: str | None) -> tuple[str, ...]:
    """The app's web_origins: from the app this request already read for its key, else read
    (only for a request with an Origin that did not get that far, or a preflight)."""
    if not app_id:
        return ()
    found = services().access.presented_app(app_id) or services().apps.find(app_id)
    return found.web_origins if found is not None else ()


def browser_route(path: str, method: str, app_id_of=lambda params: params.get("app_id")):
    """A route that pages on the app's web_origins may call: its answers, errors included, carry
    CORS headers for an allowed Origin, and OPTIONS on its path answers the preflight."""

    def register(view):
        @functools.wraps(view)
        def with_cors(**params):
            services().access.forget_presented()
            try:
                response = view(**params)
            except HeraldError as error:  # answered here, so that it carries CORS headers too
                observability.note(error=error.code)
                response = _error(error)
            origin = _header("origin")
            origins = _origins_of(app_id_of(params)) if origin else ()
            response.headers.update(cors.response_headers(origins, origin))
            return response

        if path not in BROWSER_METHODS:
            BROWSER_METHODS[path] = ()
            route(path, "OPTIONS")(_preflight_view(path, app_id_of))
        BROWSER_METHODS[path] = (*BROWSER_METHODS[path], method)
        return route(path, method)(with_cors)

    return register


def _preflight_view(path: str, app_id_of):
    def preflight(**params):
        services().access.forget_presented()
        origin = _header("origin")
        try:
            origins = _origins_of(app_id_of(params)) if origin else ()
        except HeraldError:
            origins = ()
        requested = _header("access-control-request-method")
        headers = cors.preflight_headers(origins, origin, requested, BROWSER_METHODS[path])
        return Response(body="", status_code=204, headers=headers)

    preflight.__name__ = "preflight_" + "_".join(
        part.strip("{}") for part in path.split("/") if part and part != "v1"
    ).replace(".", "_")
    return preflight


def _request():
    return app.current_request


def _header(name: str) -> str | None:
    return _request().headers.get(name)


def _query(name: str) -> str | None:
    return (_request().query_params or {}).get(name)


def _event_from_query():
    """`?event=NAME` as the fetch's request (app_launch when absent)."""
    event = _query("event")
    return bodies.validate(models.FetchMessages, {"event": event} if event is not None else {})


def _test_token() -> str | None:
    """An enrolled test device's proof (SPEC §7.2): test content only with it."""
    return _header("x-herald-test-token")


def _admin(app_id: str):
    return services().access.require_admin(app_id, _header("authorization"))


NO_STORE = {"Cache-Control": "no-store"}  # on answers that carry a key, secret or token


@app.middleware("http")
def security_headers(event, get_response):
    """Every answer is `nosniff` (SPEC §7.4): a JSON error is never sniffed into HTML."""
    response = get_response(event)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _engagement_response(body: dict, status: int = 200) -> Response:
    return _json(body, status, {"ETag": f'"{body["version"]}"'})


@route("/v1/openapi.json", "GET")
def openapi_document():
    """The OpenAPI 3.1 description of this API, built from the models that validate requests."""
    from chalicelib.api import openapi  # here, not at import: its models cost every cold start

    return _json(openapi.document(app))


# --- apps -------------------------------------------------------------------------------------


@route("/v1/apps", "POST")
def create_app():
    services().access.require_root(_header("authorization"))
    return _json(services().apps.create(_request().raw_body), 201, NO_STORE)


@route(APP, "GET")
def get_app(app_id):
    return _json(apps.app_view(_admin(app_id)))


@route(APP, "PATCH")
def update_app(app_id):
    return _json(services().apps.update(_admin(app_id), _request().raw_body))


@route(APP + "/keys/rotate", "POST")
def rotate_keys(app_id):
    body = services().apps.rotate_keys(_admin(app_id), _request().raw_body)
    return _json(body, 200, NO_STORE)


# --- trust: identity verification and enrolled test devices (SPEC §7.1, §7.2) ----------------


@route(APP + "/identity", "POST")
def configure_identity(app_id):
    body = services().trust.configure_identity(_admin(app_id), _request().raw_body)
    return _json(body, 200, NO_STORE)


@route(APP + "/test-devices", "POST")
def enrol_test_device(app_id):
    body = services().trust.enrol(_admin(app_id), _request().raw_body)
    return _json(body, 201, NO_STORE)


@route(APP + "/test-devices", "GET")
def list_test_devices(app_id):
    return _json(services().trust.test_devices(_admin(app_id)))


@route(APP + "/test-devices/{device_id}", "DELETE")
def withdraw_test_device(app_id, device_id):
    services().trust.withdraw(_admin(app_id), device_id)
    return Response(body="", status_code=204)


# --- audiences --------------------------------------------------------------------------------


@route(APP + "/audiences", "POST")
def create_audience(app_id):
    _admin(app_id)
    return _json(services().audiences.create(app_id, _request().raw_body), 201)


@route(APP + "/audiences", "GET")
def list_audiences(app_id):
    _admin(app_id)
    return _json(services().audiences.list(app_id, _query("limit"), _query("cursor")))


@route(AUDIENCE, "GET")
def get_audience(app_id, audience_id):
    _admin(app_id)
    return _json(services().audiences.get(app_id, audience_id))


@route(AUDIENCE, "PUT")
def replace_audience(app_id, audience_id):
    _admin(app_id)
    body = services().audiences.replace(
        app_id, audience_id, _request().raw_body, _header("if-match")
    )
    return _json(body)


@route(AUDIENCE, "DELETE")
def delete_audience(app_id, audience_id):
    _admin(app_id)
    services().audiences.delete(app_id, audience_id)
    return Response(body="", status_code=204)


# --- engagements ------------------------------------------------------------------------------


@route(APP + "/engagements", "POST")
def create_engagement(app_id):
    enrolled = trust.test_device_ids(_admin(app_id))
    body = services().engagements.create(app_id, _request().raw_body, enrolled)
    return _engagement_response(body, 201)


@route(APP + "/engagements", "GET")
def list_engagements(app_id):
    _admin(app_id)
    body = services().engagements.list(app_id, _query("status"), _query("limit"), _query("cursor"))
    return _json(body)


@route(ENGAGEMENT, "GET")
def get_engagement(app_id, engagement_id):
    _admin(app_id)
    return _engagement_response(services().engagements.get(app_id, engagement_id))


@route(ENGAGEMENT, "PATCH")
def update_engagement(app_id, engagement_id):
    enrolled = trust.test_device_ids(_admin(app_id))
    body = services().engagements.update(
        app_id, engagement_id, _request().raw_body, _header("if-match"), enrolled
    )
    return _engagement_response(body)


@route(ENGAGEMENT, "DELETE")
def delete_engagement(app_id, engagement_id):
    _admin(app_id)
    services().engagements.delete(app_id, engagement_id, _header("if-match"))
    return Response(body="", status_code=204)


@route(ENGAGEMENT + "/publish", "POST")
def publish_engagement(app_id, engagement_id):
    _admin(app_id)
    return _engagement_response(services().engagements.publish(app_id, engagement_id))


@route(ENGAGEMENT + "/pause", "POST")
def pause_engagement(app_id, engagement_id):
    _admin(app_id)
    return _engagement_response(services().engagements.pause(app_id, engagement_id))


@route(ENGAGEMENT + "/resume", "POST")
def resume_engagement(app_id, engagement_id):
    _admin(app_id)
    return _engagement_response(services().engagements.resume(app_id, engagement_id))


# --- devices (client key) --------------------------------------------------------------------


@browser_route(APP + "/triggers", "GET")
def triggers(app_id):
    body = services().delivery.triggers(app_id, _header("x-client-key"))
    return _json(body, headers={"Cache-Control": f"public, max-age={body['next_fetch_after']}"})


@browser_route(DEVICE, "PUT")
def register_device(app_id, device_id):
    client_app = services().access.require_client(app_id, _header("x-client-key"))
    device, created = services().devices.register(client_app, device_id, _request().raw_body)
    return _json(device, 201 if created else 200)


@browser_route(DEVICE + "/messages", "GET")
def fetch_messages(app_id, device_id):
    body = services().delivery.fetch(
        app_id, device_id, _header("x-client-key"), _event_from_query(), _test_token()
    )
    return _json(body)


@browser_route(DEVICE + "/messages", "POST")
def fetch_messages_for_event(app_id, device_id):
    request = bodies.parse(models.FetchMessages, _request().raw_body)
    body = services().delivery.fetch(
        app_id, device_id, _header("x-client-key"), request, _test_token()
    )
    return _json(body)


@route(DEVICE + "/messages/explain", "GET")
def explain_messages(app_id, device_id):
    _admin(app_id)
    dialect = _query("dialect")
    if dialect is None:
        request = _event_from_query()
        occasion = eligibility.OnEvent(request.event, request.attributes)
    elif dialect == pinpoint.DIALECT:
        occasion = pinpoint.ON_ANY_EVENT  # what GetInAppMessages would answer, on any event
    else:
        raise InvalidInput(f"dialect: {dialect!r} is not one; use {pinpoint.DIALECT}")
    return _json(services().delivery.explain(app_id, device_id, occasion))


# --- the web console (issue 6): static files under chalicelib/console, no API logic ---------


def _console_file(found: tuple[str, str]) -> Response:
    text, content_type = found
    return Response(body=text, status_code=200, headers=console.headers(content_type))


@route("/console", "GET")
def console_page():
    return _console_file(console.page())


@route("/console/{name}", "GET")
def console_asset(name):
    found = console.asset(name)
    if found is None:
        raise NotFound(f"no console file {name}")
    return _console_file(found)


# --- the web SDK (issue 12): one module joined from sdk/web/src, and the demo page --------


@browser_route("/sdk/herald.js", "GET", app_id_of=lambda _params: _query("app"))
def sdk_script():
    """`?app=<app id>` lets that app's web_origins import it across origins."""
    found = websdk.script()
    headers = {
        "Content-Type": websdk.CONTENT_TYPE,
        "Cache-Control": websdk.CACHE_CONTROL,
        "ETag": found.etag,
        "X-Content-Type-Options": "nosniff",
    }
    if _header("if-none-match") == found.etag:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=found.text, status_code=200, headers=headers)


def _demo_file(found: tuple[str, str] | None, name: str) -> Response:
    if found is None:
        raise NotFound(f"no demo file {name}")
    text, content_type = found
    return Response(body=text, status_code=200, headers=demo.headers(content_type))


@route("/demo", "GET")
def demo_page():
    return _demo_file(demo.page(), "index.html")


@route("/demo/{name}", "GET")
def demo_asset(name):
    return _demo_file(demo.asset(name), name)


# --- events and metrics: the events queue and its consumer ----------------------------------


@browser_route(APP + "/events", "POST")
def post_events(app_id):
    """Herald's events (`{"events": ...}`) or Pinpoint's PutEvents (`{"BatchItem": ...}`)."""
    raw = _request().raw_body
    try:
        body = pinpoint.events_body(raw)
    except HeraldError as error:
        # Neither dialect can be told from the body: answer in both shapes at once. A body that
        # is merely wrong (not too large) goes to Herald's rule: a bad client key is told first.
        problem = error
        if problem.status_code == 400:
            try:
                access.client_token(app_id, _header("x-client-key"))
            except HeraldError as key_error:
                problem = key_error
        rid = pinpoint.request_id()
        both = {**pinpoint.error_body(problem, rid), "Code": problem.code}
        return _json(both, problem.status_code, pinpoint.error_headers(problem, rid))
    if pinpoint.BATCH in body:
        return _pinpoint_call(lambda: services().pinpoint.put_events(app_id, body), 202)
    try:
        accepted = services().events.accept(app_id, _header("x-client-key"), raw)
    except events.QueueUnavailable as error:
        retry = {"Retry-After": str(error.retry_after_seconds)}
        return _json({"Code": error.code, "Message": str(error)}, error.status_code, retry)
    return _json({"accepted": accepted}, 202)


# --- the Pinpoint dialect (SPEC §6.3): Pinpoint's paths, bodies and error shape --------------

ENDPOINT = APP + "/endpoints/{endpoint_id}"


def _pinpoint_call(call, status: int = 200) -> Response:
    """A dialect call answered in Pinpoint's shape, errors included."""
    rid = pinpoint.request_id()
    try:
        body = call()
    except HeraldError as error:
        return _json(
            pinpoint.error_body(error, rid),
            pinpoint.status_of(error),
            pinpoint.error_headers(error, rid),
        )
    return _json(body, status, {"x-amzn-RequestId": rid})


@app.route(ENDPOINT, methods=["PUT"])
def pinpoint_update_endpoint(app_id, endpoint_id):
    raw = _request().raw_body
    call = functools.partial(services().pinpoint.update_endpoint, app_id, endpoint_id, raw)
    return _pinpoint_call(call, 202)


@app.route(ENDPOINT + "/inappmessages", methods=["GET"])
def pinpoint_get_in_app_messages(app_id, endpoint_id):
    call = functools.partial(services().pinpoint.in_app_messages, app_id, endpoint_id)
    return _pinpoint_call(call)


@route(ENGAGEMENT + "/metrics", "GET")
def engagement_metrics(app_id, engagement_id):
    _admin(app_id)
    body = services().reports.metrics(
        app_id, engagement_id, _query("from"), _query("to"), _query("granularity")
    )
    return _json(body)


@route(ENGAGEMENT + "/responses", "GET")
def engagement_responses(app_id, engagement_id):
    _admin(app_id)
    body = services().reports.responses(app_id, engagement_id, _query("limit"), _query("cursor"))
    return _json(body)


@app.on_sqs_message(queue=events_queue_name(), batch_size=10)
def consume_events(event):
    """Counts a batch of queued events; the messages to retry go back as batchItemFailures
    (the event source mapping must have ReportBatchItemFailures, as the local consumer does)."""
    messages = [(record.to_dict()["messageId"], record.body) for record in event]
    batch_id = getattr(event.context, "aws_request_id", None) or uuid.uuid4().hex
    with _invocation(
        "batch", "events batch", event.context, batch_id=batch_id, messages=len(messages)
    ):
        failed = services().consumer.consume(messages)
        observability.count(observability.CONSUMER_BATCH_FAILURES, len(failed))
        observability.note(failed=len(failed), failed_message_ids=failed[:10])
        if messages and len(failed) == len(messages):
            # a mapping without partial batch responses would delete what a return reports
            raise consumer.EveryMessageFailed(
                f"every message of the batch of {len(messages)} failed"
            )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


# --- the target of the engagements' start/end schedules ---------------------------------------


@app.lambda_function(name="apply_transition")
def apply_transition(event, context):
    """Invoked by EventBridge Scheduler with the schedule's Input."""
    firing = event if isinstance(event, dict) else {}
    ids = {
        key: firing[key] for key in ("app_id", "engagement_id") if isinstance(firing.get(key), str)
    }
    with _invocation("schedule", "schedule firing", context, **ids):
        try:
            outcome = services().engagements.apply_schedule_firing(event)
        except ValueError as error:
            # A malformed firing can never succeed: say so instead of letting Scheduler retry it.
            outcome = {"outcome": "rejected", "reason": str(error)}
        except Exception:
            _schedule_outcome("failed")  # raised again: Scheduler retries the firing
            raise
        _schedule_outcome(outcome["outcome"], outcome.get("status"))
    return outcome


def _schedule_outcome(outcome: str, status: str | None = None) -> None:
    observability.count(observability.SCHEDULE_FIRINGS, outcome=outcome)
    observability.note(outcome=outcome, **({"engagement_status": status} if status else {}))


# --- the schedules follow the stored engagements: the stream function and the sweep ----------


@app.on_dynamodb_record(
    stream_arn=engagements_stream_arn(), batch_size=25, starting_position="TRIM_HORIZON"
)
def sync_schedules(event):
    """The engagements table's stream: creates, moves or deletes each changed engagement's
    schedules. Records to retry go back as batchItemFailures (the mapping has
    ReportBatchItemFailures, retries, bisection and an on-failure queue: deploy/)."""
    records = [record.to_dict() for record in event]
    with _invocation("stream", "schedules stream batch", event.context, records=len(records)):
        retry = services().engagements.follow_stream(records)
        observability.note(retried=len(retry))
        if retry and len(retry) == len(records):
            raise RuntimeError(f"no schedule of this batch of {len(records)} could be synced")
    return {"batchItemFailures": [{"itemIdentifier": number} for number in retry[:1]]}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_schedules(event):
    """Every 5 minutes: statuses whose boundary passed without a firing, schedules that do not
    follow their engagement's revision (both from the due index, never a Scan)."""
    with _invocation("sweep", "schedules sweep", event.context):
        repaired = services().engagements.sweep()
        observability.count(observability.SWEEP_REPAIRS, sum(repaired.values()))
        observability.note(**{f"repaired_{what}": count for what, count in repaired.items()})
    return repaired
