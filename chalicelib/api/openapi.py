"""The OpenAPI 3.1 document of Herald's public API, built from the app's routes.

`document(app)` walks `app.routes` and describes each one from `OPERATIONS`; a route without an
entry raises `Undocumented`, so a new route cannot ship undocumented. Request bodies are the
JSON Schemas of the very pydantic models that validate them (chalicelib/api/models.py), so the
document cannot drift from the validation. Responses are described by the models below; the
tests (tests/deploy) check real answers against them.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

from chalice import Chalice
from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import models_json_schema

from chalicelib.api import inputs, models, paging, rule_schema
from chalicelib.dialects.pinpoint.models import EndpointRequest
from chalicelib.domain.lifecycle import STATUSES
from chalicelib.services import preconditions

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"

ROOT = "root"
ADMIN = "admin"
CLIENT = "client"
PUBLIC = "public"

SECURITY = {
    ROOT: [{"rootKey": []}],
    ADMIN: [{"adminKey": []}, {"rootKey": []}],
    CLIENT: [{"clientKey": []}],
    PUBLIC: [],
}

ERRORS = {
    400: ("BadRequest", "The request is invalid; the message names the field."),
    401: ("Unauthorized", "No key, or a key that is not valid."),
    403: ("Forbidden", "A valid key that may not call this route (another app's, wrong kind)."),
    404: ("NotFound", "No such app, audience, engagement or device in this app."),
    409: ("Conflict", "The request conflicts with the current state (stale version, name taken)."),
    413: ("PayloadTooLarge", "The body is larger than the route accepts."),
    415: ("UnsupportedMediaType", "The Content-Type is not application/json."),
    428: ("PreconditionRequired", "This update needs `If-Match: <version>`."),
    503: (
        "ServiceUnavailable",
        "DynamoDB is throttling or the events queue cannot be reached: nothing was lost; send "
        "the same request again after Retry-After seconds.",
    ),
}
COMMON_ERRORS = (400, 401, 403, 404, 415, 503)


class Undocumented(Exception):
    """A route of the app that OPERATIONS does not describe."""


# --- response models (what the services answer) ------------------------------------------------


class Response(BaseModel):
    """Answers may gain fields; clients must ignore the ones they do not know."""

    model_config = ConfigDict(extra="allow")


class Error(BaseModel):
    """Every 4xx (and 5xx) answer: Chalice's error form."""

    Code: str
    Message: str


class PinpointSwitch(Response):
    enabled: bool


class KeyInfo(Response):
    fingerprint: str  # the first 16 hex digits of the key's SHA-256
    since: str
    previous: dict[str, str] | None  # {fingerprint, expires_at} while the old key still works


class IdentitySecretInfo(Response):
    secret_id: str
    expires_at: str | None  # null: the current secret


class App(Response):
    app_id: str
    name: str
    created_at: str
    web_origins: list[str]
    pinpoint: PinpointSwitch
    keys: dict[Literal["admin", "client"], KeyInfo]
    identity: Literal["required", "off"]
    identity_secrets: list[IdentitySecretInfo]


class AppCreated(App):
    admin_key: str
    client_key: str


class Keys(Response):
    """The new key of each kind rotated, and until when the one it replaced still works."""

    app_id: str
    admin_key: str | None = None
    client_key: str | None = None
    previous_admin_key_expires_at: str | None = None
    previous_client_key_expires_at: str | None = None


class Identity(Response):
    identity: Literal["required", "off"]
    identity_secret: str | None = None  # shown once, when a new one is made
    secret_id: str | None = None
    identity_secrets: list[IdentitySecretInfo] | None = None


class TestDevice(Response):
    device_id: str
    label: str
    enrolled_at: str


class EnrolledTestDevice(TestDevice):
    test_token: str  # shown once; send it as X-Herald-Test-Token


class TestDeviceList(Response):
    test_devices: list[TestDevice]


class Audience(Response):
    audience_id: str
    app_id: str
    name: str
    description: str
    rules: dict[str, Any]
    used_by: list[str]
    version: int
    created_at: str
    updated_at: str


class AudienceList(Response):
    audiences: list[Audience]
    cursor: str | None


class Engagement(models.EngagementSpec):
    """The engagement as created (defaults filled in), with its identity and state."""

    model_config = ConfigDict(extra="allow")

    engagement_id: str
    app_id: str
    status: Literal[STATUSES]  # type: ignore[valid-type]
    version: int
    ever_active: bool = Field(
        description="It has been active: variant keys, weights, ab_test and control_percent "
        "are frozen."
    )
    created_at: str
    updated_at: str


class EngagementList(Response):
    engagements: list[Engagement]
    cursor: str | None


class Device(models.RegisterDevice):
    model_config = ConfigDict(extra="allow")

    device_id: str
    app_id: str


class FetchedMessage(Response):
    engagement_id: str
    variant: str
    priority: int
    test: bool
    message: dict[str, Any]
    metrics: dict[str, str]
    expires_at: str


class Messages(Response):
    messages: list[FetchedMessage]
    next_fetch_after: int


class Explanation(Response):
    engagement_id: str
    name: str
    eligible: bool
    reason: str | None
    detail: dict[str, Any] | None = None


class Explain(Response):
    device_id: str
    event: str | None
    dialect: str | None = None
    engagements: list[Explanation]
    subject: str | None = Field(None, description="Whom caps and the profile follow.")
    profile: dict[str, Any] | None = Field(
        None, description="The subject's behaviour: first/last activity, per event its 30 days."
    )


class ClientTrigger(Response):
    event: str
    conditions: list[dict[str, Any]]


class Triggers(Response):
    triggers: list[ClientTrigger]
    next_fetch_after: int


class Accepted(Response):
    accepted: int


class PinpointError(Response):
    """A 4xx of a Pinpoint route (x-amzn-ErrorType names the exception); `Code` as Herald's."""

    Code: str
    message: str
    Message: str
    RequestID: str


class PinpointMessageBody(Response):
    Message: str
    RequestID: str


class PinpointCampaigns(Response):
    InAppMessageCampaigns: list[dict[str, Any]]


class PinpointEventResult(Response):
    StatusCode: int
    Message: str


class PinpointItemResult(Response):
    EndpointItemResponse: PinpointEventResult
    EventsItemResponse: dict[str, PinpointEventResult]


class PinpointEvents(Response):
    """PutEvents' answer: a result per endpoint and per event."""

    Results: dict[str, PinpointItemResult]


class EventsAnswer(RootModel[Accepted | PinpointEvents]):
    """Herald's `{"accepted"}` for a Herald body, Pinpoint's `{"Results"}` for a BatchItem."""


class VariantCounts(Response):
    key: str
    impressions: int
    unique_devices: int
    clicks: int
    clicks_by_element: dict[str, int]
    metrics: dict[str, int]
    dismissals: int
    render_errors: int
    conversions: int
    question: str | None = Field(
        None, description="Only for a variant that asks a question: its type."
    )
    responses: int | None = Field(None, description="Answers counted (one per subject).")
    response_rate: float | None = Field(None, description="responses / impressions.")
    distribution: dict[str, int] | None = Field(
        None, description="Answers per value (rating, nps) or per option id (choice)."
    )
    mean: float | None = Field(None, description="The mean answer (rating and nps).")
    nps: float | None = Field(None, description="Promoters - detractors, in points (nps).")


class TextAnswer(Response):
    variant: str
    value: str
    at: str
    subject: str


class TextAnswers(Response):
    engagement_id: str
    responses: list[TextAnswer]
    cursor: str | None


class VariantMetrics(VariantCounts):
    ctr: float | None
    conversion_rate: float | None
    lift_vs_control: float | None
    lift_vs_first: float | None
    p_value: float | None
    significant: bool


class ControlMetrics(Response):
    assigned: int
    conversions: int
    conversion_rate: float | None = None


class DailyPoint(Response):
    date: str
    variants: list[VariantCounts]
    control: ControlMetrics | None


class Metrics(Response):
    engagement_id: str
    goal: Literal["conversion_rate", "ctr"]
    variants: list[VariantMetrics]
    control: ControlMetrics | None
    series: list[DailyPoint] | None = None


class OpenApiDocument(Response):
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


# --- operations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["query", "header"]
    description: str
    required: bool = False
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


LIMIT = Param(
    "limit",
    "query",
    "Page size, 1-100 (default 20).",
    schema={"type": "string", "pattern": inputs.LIMIT_PATTERN},
)
CURSOR = Param(
    "cursor",
    "query",
    "The `cursor` of the previous page.",
    schema={"type": "string", "pattern": paging.CURSOR_PATTERN},
)
ANSWER_CURSOR = Param(
    "cursor",
    "query",
    "The `cursor` of the previous page.",
    schema={"type": "string", "pattern": paging.ANSWER_CURSOR_PATTERN},
)
EVENT = Param(
    "event",
    "query",
    "The app event (default app_launch).",
    schema={"type": "string", "minLength": 1, "maxLength": 64, "pattern": models.TOKEN_PATTERN},
)
IF_MATCH_SCHEMA = {"type": "string", "pattern": preconditions.VERSION_PATTERN}
IF_MATCH = Param(
    "If-Match",
    "header",
    "The version you read (the ETag); empty or absent: whatever the version.",
    schema={"type": "string", "pattern": f"^$|{preconditions.VERSION_PATTERN}"},
)
_YEAR = r"(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
DAY = {
    "type": "string",
    "pattern": rf"^({_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$",
    "description": "A date YYYY-MM-DD that exists (empty: no bound).",
}
# what each path parameter may be: anything else is refused (400, or 403/404 for an unknown id)
PATH_PATTERNS = {
    "app_id": r"^app[0-9a-f]{28}$",
    "audience_id": r"^aud[0-9a-f]{28}$",
    "engagement_id": r"^eng[0-9a-f]{28}$",
    "device_id": models.DEVICE_ID_PATTERN,
    "endpoint_id": models.DEVICE_ID_PATTERN,
    "name": r"^[a-z0-9][a-z0-9_-]{0,63}\.(js|css|svg)$",
}
TEST_TOKEN = Param(
    "X-Herald-Test-Token",
    "header",
    "An enrolled test device's test token: its test engagements are shown whatever their state.",
)


@dataclass(frozen=True)
class Operation:
    summary: str
    auth: str
    # status -> (description, the JSON body's model, or a media type for other bodies, or None)
    responses: dict[int, tuple[str, type[BaseModel] | str | None]]
    errors: tuple[int, ...] = COMMON_ERRORS
    request: type[BaseModel] | None = None
    request_example: dict[str, Any] | None = None
    merge_patch: bool = False  # the body is an RFC 7386 merge patch of `request`
    body_optional: bool = False  # no body at all means the defaults
    params: tuple[Param, ...] = ()
    description: str = ""
    # status -> OpenAPI links to the operations that may follow (stateful clients, schemathesis)
    links: dict[int, dict[str, Any]] = field(default_factory=dict)


APP = "/v1/apps/{app_id}"
AUDIENCE = APP + "/audiences/{audience_id}"
ENGAGEMENT = APP + "/engagements/{engagement_id}"
DEVICE = APP + "/devices/{device_id}"
PINPOINT_ENDPOINT = APP + "/endpoints/{endpoint_id}"

AUDIENCE_EXAMPLE = {
    "name": "French users",
    "description": "fr locales",
    "rules": {"all": [{"attribute": "locale", "op": "in", "value": ["fr-FR", "fr-BE"]}]},
}
ENGAGEMENT_EXAMPLE = {
    "name": "Spring sale",
    "description": "20 % off, two wordings",
    "type": "in_app_message",
    "ab_test": True,
    "control_percent": 10,
    "variants": [
        {
            "key": "A",
            "weight": 50,
            "message": {
                "layout": "modal",
                "title": "Spring sale",
                "body": "20 % off today",
                "image_url": "https://cdn.example.com/sale.png",
                "background_color": "#FFFFFF",
                "text_color": "#111111",
                "buttons": [
                    {
                        "id": "buy",
                        "label": "Shop now",
                        "action": {"type": "deep_link", "target": "shop://sale"},
                    },
                    {"id": "later", "label": "Later", "action": {"type": "dismiss"}},
                ],
                "data": {"campaign": "spring"},
                "localizations": {
                    "fr": {
                        "title": "Soldes",
                        "body": "-20 % aujourd'hui",
                        "buttons": {"buy": "Acheter"},
                    }
                },
            },
        },
        {
            "key": "B",
            "weight": 50,
            "message": {
                "layout": "banner_top",
                "title": "Sale: 20 % off",
                "body": "Today only",
                "buttons": [
                    {
                        "id": "buy",
                        "label": "Go",
                        "action": {"type": "url", "target": "https://shop.example.com/sale"},
                    }
                ],
            },
        },
    ],
    "audience": {"audience_ids": [], "user_ids": [], "device_ids": [], "percent": 100},
    "schedule": {"start_at": "2026-12-01T09:00:00+01:00", "end_at": "2026-12-08T09:00:00+01:00"},
    "trigger": {
        "event": "app_launch",
        "conditions": [{"attribute": "screen", "op": "eq", "value": "home"}],
    },
    "frequency": {"max_impressions": 3, "max_per_day": 1, "min_interval_seconds": 3600},
    "priority": 5,
    "metrics": [{"element": "buy", "metric": "spring_buy_clicked"}],
    "conversion": {"event": "purchase", "window_hours": 24},
}  # test_device_ids (e.g. ["qa-phone-1"]) may name only enrolled devices (POST …/test-devices)
DEVICE_EXAMPLE = {
    "user_id": "u-42",
    "platform": "ios",
    "os_version": "18.1",
    "app_version": "2.4.0",
    "locale": "fr-FR",
    "timezone": "Europe/Paris",
    "attributes": {"plan": "gold"},
}
FETCH_EXAMPLE = {"event": "app_launch", "attributes": {"screen": "home"}}

_ENGAGEMENT_ERRORS = (*COMMON_ERRORS, 409)


def _engagement_links(*names: str) -> dict[str, Any]:
    """Links from an answer that is an engagement to what may be done with it next: its id from
    the body, the version to send in If-Match from the ETag."""
    versioned = {"update_engagement", "delete_engagement"}
    found = {}
    for name in names:
        parameters = {
            "path.app_id": "$request.path.app_id",
            "path.engagement_id": "$response.body#/engagement_id",
        }
        if name in versioned:
            parameters["header.If-Match"] = "$response.header.ETag"
        found["".join(part.title() for part in name.split("_"))] = {
            "operationId": name,
            "parameters": parameters,
        }
    return found


AFTER_ENGAGEMENT = _engagement_links(
    "get_engagement", "update_engagement", "pause_engagement", "engagement_metrics"
)

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/v1/apps"): Operation(
        "Create an app",
        ROOT,
        {201: ("The app, with its keys: shown once, stored only as hashes.", AppCreated)},
        errors=(400, 401, 413, 415, 503),
        request=models.CreateApp,
        request_example={"name": "Shop"},
    ),
    ("GET", APP): Operation("Read an app (no secrets)", ADMIN, {200: ("The app.", App)}),
    ("PATCH", APP): Operation(
        "Change the app's settings",
        ADMIN,
        {200: ("The app.", App)},
        errors=(*COMMON_ERRORS, 413),
        request=models.AppSettings,
        request_example={"web_origins": ["https://shop.example.com"]},
        merge_patch=True,
        description=(
            "An RFC 7386 merge patch of the app's settings (no If-Match needed). `web_origins` "
            "lists the exact origins (at most 20) whose pages may call the device routes and "
            "load /sdk/herald.js across origins; a list replaces the previous one."
        ),
    ),
    ("POST", APP + "/keys/rotate"): Operation(
        "Rotate the app's keys",
        ADMIN,
        {200: ("The new key(s), shown once (Cache-Control: no-store).", Keys)},
        errors=(*COMMON_ERRORS, 409, 413),
        request=models.RotateKeys,
        request_example={"kind": "client", "overlap_hours": 168},
        body_optional=True,
        description=(
            "`kind` admin or client (both without a body); the key it replaces keeps working "
            "for `overlap_hours` (default 0 for the admin key, 168 = 7 days for the client key, "
            "which ships in apps that cannot all update at once; 0 = at once)."
        ),
    ),
    ("POST", APP + "/identity"): Operation(
        "Require proven user ids, rotate the identity secret, or turn it off",
        ADMIN,
        {200: ("The identity setting; a new identity_secret is shown once.", Identity)},
        errors=(*COMMON_ERRORS, 409, 413),
        request=models.ConfigureIdentity,
        request_example={"identity": "required", "overlap_hours": 168},
        body_optional=True,
        description=(
            "With `required`, a device registered with a `user_id` needs "
            "`user_token = hex(HMAC-SHA256(identity_secret, user_id))`, else 401; a device "
            "whose user id is not proven is anonymous. A new secret replaces the current one, "
            'which stays valid for `overlap_hours` (default 168). `{"identity": "off"}` '
            "forgets the secrets."
        ),
    ),
    ("POST", APP + "/test-devices"): Operation(
        "Enrol a test device",
        ADMIN,
        {201: ("The device and its test token, shown once.", EnrolledTestDevice)},
        errors=(*COMMON_ERRORS, 409, 413),
        request=models.EnrolTestDevice,
        request_example={"device_id": "qa-phone-1", "label": "QA iPhone"},
    ),
    ("GET", APP + "/test-devices"): Operation(
        "List the enrolled test devices (no tokens)", ADMIN, {200: ("The devices.", TestDeviceList)}
    ),
    ("DELETE", APP + "/test-devices/{device_id}"): Operation(
        "Withdraw a test device: its token stops working", ADMIN, {204: ("Withdrawn.", None)}
    ),
    ("POST", APP + "/audiences"): Operation(
        "Create an audience",
        ADMIN,
        {201: ("The audience.", Audience)},
        errors=(*COMMON_ERRORS, 409, 413),
        request=models.CreateAudience,
        request_example=AUDIENCE_EXAMPLE,
        description="`rules` nest `all`/`any` around `{attribute, op, value}` conditions.",
    ),
    ("GET", APP + "/audiences"): Operation(
        "List audiences",
        ADMIN,
        {200: ("A page of audiences; `cursor` is null on the last page.", AudienceList)},
        params=(LIMIT, CURSOR),
    ),
    ("GET", AUDIENCE): Operation("Read an audience", ADMIN, {200: ("The audience.", Audience)}),
    ("PUT", AUDIENCE): Operation(
        "Replace an audience",
        ADMIN,
        {200: ("The audience, with its new version.", Audience)},
        errors=(*COMMON_ERRORS, 409, 413),
        request=models.CreateAudience,
        request_example=AUDIENCE_EXAMPLE,
        params=(IF_MATCH,),
    ),
    ("DELETE", AUDIENCE): Operation(
        "Delete an audience (refused while an engagement uses it)",
        ADMIN,
        {204: ("Deleted.", None)},
        errors=(*COMMON_ERRORS, 409),
    ),
    ("POST", APP + "/engagements"): Operation(
        "Create an engagement",
        ADMIN,
        {201: ("The engagement; the ETag header carries its version.", Engagement)},
        errors=(*_ENGAGEMENT_ERRORS, 413),
        links={201: AFTER_ENGAGEMENT},
        request=models.CreateEngagement,
        request_example=ENGAGEMENT_EXAMPLE,
        description=(
            'Only `name`, `variants` and `schedule` are required. `"status": "draft"` keeps it '
            "unpublished; otherwise it is scheduled or active at once."
        ),
    ),
    ("GET", APP + "/engagements"): Operation(
        "List engagements",
        ADMIN,
        {200: ("A page of engagements; `cursor` is null on the last page.", EngagementList)},
        params=(
            Param(
                "status",
                "query",
                "Only engagements with this status.",
                schema={"type": "string", "enum": list(STATUSES)},
            ),
            LIMIT,
            CURSOR,
        ),
    ),
    ("GET", ENGAGEMENT): Operation(
        "Read an engagement",
        ADMIN,
        {200: ("The engagement; ETag: its version.", Engagement)},
        links={200: _engagement_links("update_engagement", "pause_engagement")},
    ),
    ("PATCH", ENGAGEMENT): Operation(
        "Update an engagement",
        ADMIN,
        {200: ("The engagement, with its new version.", Engagement)},
        errors=(*_ENGAGEMENT_ERRORS, 413, 428),
        links={200: AFTER_ENGAGEMENT},
        request=models.EngagementSpec,
        request_example={"priority": 3, "frequency": {"max_per_day": 2}},
        merge_patch=True,
        params=(
            Param(
                "If-Match",
                "header",
                "The version you read (the ETag).",
                required=True,
                schema=IF_MATCH_SCHEMA,
            ),
        ),
        description=(
            "An RFC 7386 merge patch of the engagement: objects merge, null removes. Once the "
            "engagement has been active, variant keys and weights, ab_test and control_percent "
            "are frozen (409)."
        ),
    ),
    ("DELETE", ENGAGEMENT): Operation(
        "Delete an engagement",
        ADMIN,
        {204: ("Deleted, with its schedules.", None)},
        errors=_ENGAGEMENT_ERRORS,
        params=(IF_MATCH,),
    ),
    ("POST", ENGAGEMENT + "/publish"): Operation(
        "Publish a draft", ADMIN, {200: ("The engagement.", Engagement)}, errors=_ENGAGEMENT_ERRORS
    ),
    ("POST", ENGAGEMENT + "/pause"): Operation(
        "Pause a scheduled or active engagement",
        ADMIN,
        {200: ("The engagement.", Engagement)},
        errors=_ENGAGEMENT_ERRORS,
        links={200: _engagement_links("resume_engagement", "engagement_metrics")},
    ),
    ("POST", ENGAGEMENT + "/resume"): Operation(
        "Resume a paused engagement",
        ADMIN,
        {200: ("The engagement.", Engagement)},
        errors=_ENGAGEMENT_ERRORS,
    ),
    ("GET", ENGAGEMENT + "/metrics"): Operation(
        "Performance per variant and control",
        ADMIN,
        {200: ("The report.", Metrics)},
        params=(
            Param("from", "query", "First day counted (YYYY-MM-DD, UTC).", schema=DAY),
            Param(
                "to",
                "query",
                "Last day counted (YYYY-MM-DD, UTC), not before `from`; a daily series covers "
                "at most 366 days.",
                schema=DAY,
            ),
            Param(
                "granularity",
                "query",
                "`day` adds a daily series.",
                schema={"type": "string", "enum": ["day"]},
            ),
        ),
    ),
    ("GET", ENGAGEMENT + "/responses"): Operation(
        "Text answers to the engagement's question, newest first",
        ADMIN,
        {200: ("A page of answers; `cursor` is null on the last page.", TextAnswers)},
        params=(LIMIT, ANSWER_CURSOR),
    ),
    ("PUT", DEVICE): Operation(
        "Register or update a device",
        CLIENT,
        {201: ("Registered.", Device), 200: ("Updated.", Device)},
        errors=(*COMMON_ERRORS, 413),
        request=models.RegisterDevice,
        request_example=DEVICE_EXAMPLE,
    ),
    ("GET", DEVICE + "/messages"): Operation(
        "The messages to show now",
        CLIENT,
        {200: ("Highest priority first, localized for the device.", Messages)},
        params=(EVENT, TEST_TOKEN),
    ),
    ("POST", DEVICE + "/messages"): Operation(
        "The messages to show now, for an event with attributes",
        CLIENT,
        {200: ("Highest priority first, localized for the device.", Messages)},
        errors=(*COMMON_ERRORS, 413),
        request=models.FetchMessages,
        request_example=FETCH_EXAMPLE,
        params=(TEST_TOKEN,),
    ),
    ("GET", DEVICE + "/messages/explain"): Operation(
        "Why the device would or would not get each engagement now",
        ADMIN,
        {200: ("One decision per engagement of the app.", Explain)},
        params=(
            EVENT,
            Param(
                "dialect",
                "query",
                "`pinpoint`: the decisions of GetInAppMessages (any event; a trigger Pinpoint's "
                "event filter cannot carry is `trigger_unsupported`).",
                schema={"type": "string", "enum": ["pinpoint"]},
            ),
        ),
    ),
    ("POST", APP + "/events"): Operation(
        "Report what devices did (at most 100 events)",
        CLIENT,
        {202: ("Queued.", EventsAnswer)},
        errors=(*COMMON_ERRORS, 413),
        request=models.PostEvents,
        description=(
            "`type` is impression, click, dismiss, custom or render_error; an event id counts "
            "once, however often it is sent. A body whose top-level key is `BatchItem` is "
            "Pinpoint's PutEvents instead (no client key; the app must have `pinpoint.enabled`): "
            "it is answered with a result per event, and its errors in Pinpoint's shape. A body "
            "with both keys or neither is a 400."
        ),
    ),
    ("PUT", PINPOINT_ENDPOINT): Operation(
        "Pinpoint UpdateEndpoint: register or update the endpoint as a device",
        PUBLIC,
        {202: ("Accepted (Pinpoint's MessageBody).", PinpointMessageBody)},
        errors=(400, 403, 413, 415),
        request=EndpointRequest,
        description=(
            "Pinpoint's EndpointRequest, merged into the device `endpoint_id` (created when "
            "unknown). Needs `pinpoint.enabled` on the app; errors in Pinpoint's shape. See "
            "docs/MIGRATING-FROM-PINPOINT.md."
        ),
    ),
    ("GET", PINPOINT_ENDPOINT + "/inappmessages"): Operation(
        "Pinpoint GetInAppMessages: every engagement the endpoint may be shown now",
        PUBLIC,
        {
            200: (
                "Pinpoint in-app campaigns, by priority; empty for an unknown endpoint.",
                PinpointCampaigns,
            )
        },
        errors=(400, 403, 415),
        description=(
            "The same decision as the message fetch, on any event (Amplify filters by event "
            "itself). Needs `pinpoint.enabled`; errors in Pinpoint's shape."
        ),
    ),
    ("GET", APP + "/triggers"): Operation(
        "The app's triggers: when a client should fetch",
        CLIENT,
        {200: ("Cacheable for next_fetch_after seconds (Cache-Control).", Triggers)},
        description=(
            "The distinct (event, conditions) of the engagements that can show something now "
            "or before `next_fetch_after`; a client fetches messages only for an event that "
            "matches one (conditions use the rule operators on the event's attributes)."
        ),
    ),
    ("GET", "/sdk/herald.js"): Operation(
        "The web SDK, one ES module",
        PUBLIC,
        {200: ("The module.", "text/javascript"), 304: ("Not modified (If-None-Match).", None)},
        errors=(415,),
        params=(
            Param(
                "app",
                "query",
                "An app id: that app's web_origins may import the module across origins.",
            ),
        ),
    ),
    ("GET", "/demo"): Operation(
        "The demo shop page using the web SDK (?app=&key=)",
        PUBLIC,
        {200: ("Its page.", "text/html")},
        errors=(404, 415),
    ),
    ("GET", "/demo/{name}"): Operation(
        "A file of the demo page",
        PUBLIC,
        {200: ("A script or style sheet.", "*/*")},
        errors=(404, 415),
    ),
    ("GET", "/console"): Operation(
        "The web console", PUBLIC, {200: ("Its page.", "text/html")}, errors=(404, 415)
    ),
    ("GET", "/console/{name}"): Operation(
        "A file of the web console",
        PUBLIC,
        {200: ("A script, style sheet or image of the console.", "*/*")},
        errors=(404, 415),
    ),
    ("GET", "/v1/openapi.json"): Operation(
        "This document", PUBLIC, {200: ("OpenAPI 3.1.", OpenApiDocument)}, errors=(415,)
    ),
}


def _preflight(path: str) -> Operation:
    return Operation(
        "CORS preflight",
        PUBLIC,
        {204: ("CORS headers when the Origin is one of the app's web_origins; none else.", None)},
        errors=(415,),
        params=(
            Param("Origin", "header", "The page's origin."),
            Param("Access-Control-Request-Method", "header", "The method the page will use."),
        ),
    )


BROWSER_PATHS = (
    APP + "/triggers",
    DEVICE,
    DEVICE + "/messages",
    APP + "/events",
    "/sdk/herald.js",
)
OPERATIONS.update({("OPTIONS", path): _preflight(path) for path in BROWSER_PATHS})


def _request_models() -> list[type[BaseModel]]:
    found = {op.request for op in OPERATIONS.values() if op.request is not None}
    return sorted(found, key=lambda model: model.__name__)


def _response_models() -> list[type[BaseModel]]:
    found = {Error, PinpointError}
    for operation in OPERATIONS.values():
        found.update(
            model for _desc, model in operation.responses.values() if isinstance(model, type)
        )
    return sorted(found, key=lambda model: model.__name__)


def schemas() -> dict[str, Any]:
    """Every request and response model as JSON Schema (2020-12, as OpenAPI 3.1 uses it)."""
    everything = [(m, "validation") for m in {*_request_models(), *_response_models()}]
    _keys, top = models_json_schema(
        sorted(everything, key=lambda pair: pair[0].__name__),
        ref_template="#/components/schemas/{model}",
    )
    return {**top.get("$defs", {}), **rule_schema.components()}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _patch_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """An RFC 7386 merge patch of `model`: objects merge, so any of their fields may be left
    out, and `null` removes a field, so only fields that have a default may be null; arrays
    and values replace what was there. The result of the merge must be a valid model."""
    return {
        **_partial(_ref(model), components),
        "description": f"RFC 7386 merge patch of {model.__name__}: the merged result must be a "
        f"valid {model.__name__}.",
    }


def _partial(schema: Any, components: dict[str, Any]) -> Any:
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[-1]]
        return _partial(target, components) if _is_object(target) else schema
    if _is_object(schema):
        required = set(schema.get("required", []))
        properties = {}
        for name, field_schema in schema.get("properties", {}).items():
            patched = _partial(field_schema, components)
            properties[name] = patched if name in required else _nullable(patched)
        partial = {
            key: value
            for key, value in schema.items()
            if key not in ("properties", "required", "title", "discriminator")
        }
        if properties:
            partial["properties"] = properties
        for key in ("patternProperties",):
            if key in schema:
                partial[key] = {
                    pattern: _nullable(_partial(value, components))
                    for pattern, value in schema[key].items()
                }
        if isinstance(schema.get("additionalProperties"), dict):
            partial["additionalProperties"] = _nullable(
                _partial(schema["additionalProperties"], components)
            )
        return partial
    for key in ("anyOf", "oneOf"):
        if key in schema:
            # partial branches overlap (a patch may fit several), so any of them
            rest = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
            return {**rest, "anyOf": [_partial(branch, components) for branch in schema[key]]}
    if "allOf" in schema and len(schema["allOf"]) == 1:
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return {**rest, **_partial(schema["allOf"][0], components)}
    return schema


def _is_object(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object" and ("properties" in schema or "$ref" not in schema)


def _nullable(schema: Any) -> dict[str, Any]:
    if isinstance(schema, dict) and schema.get("type") == "null":
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _operation(
    method: str, path: str, view_name: str, operation: Operation, components: dict[str, Any]
) -> dict[str, Any]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": PATH_PATTERNS[name]},
        }
        for name in path_params(path)
    ]
    parameters += [
        {
            "name": param.name,
            "in": param.where,
            "required": param.required,
            "description": param.description,
            "schema": param.schema,
        }
        for param in operation.params
    ]
    responses: dict[str, Any] = {}
    for status, (description, model) in sorted(operation.responses.items()):
        answer: dict[str, Any] = {"description": description}
        if isinstance(model, str):
            answer["content"] = {model: {"schema": {"type": "string"}}}
        elif model is not None:
            answer["content"] = {"application/json": {"schema": _ref(model)}}
        if status in operation.links:
            answer["links"] = operation.links[status]
        responses[str(status)] = answer
    for status in sorted(operation.errors):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
    document: dict[str, Any] = {
        "operationId": view_name,
        "summary": operation.summary,
        "security": SECURITY[operation.auth],
        "responses": responses,
    }
    if operation.description:
        document["description"] = operation.description
    if parameters:
        document["parameters"] = parameters
    if operation.request is not None:
        media = "application/merge-patch+json" if operation.merge_patch else "application/json"
        schema = (
            _patch_schema(operation.request, components)
            if operation.merge_patch
            else _ref(operation.request)
        )
        content: dict[str, Any] = {"schema": schema}
        if operation.request_example is not None:
            content["example"] = operation.request_example
        # Chalice routes accept application/json only: the patch is sent with that type too.
        document["requestBody"] = {
            "required": not operation.body_optional,
            "content": {"application/json": content},
        }
        if media != "application/json":
            document["requestBody"]["description"] = "An RFC 7386 JSON merge patch."
    return document


def path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def routes(app: Chalice) -> list[tuple[str, str, str]]:
    """(method, path, view name) of every route of the app."""
    return sorted(
        (method, path, entry.view_name)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
    )


def operation_for(method: str, path: str) -> Operation:
    try:
        return OPERATIONS[(method, path)]
    except KeyError:
        raise Undocumented(
            f"{method} {path} is not described in chalicelib/api/openapi.py OPERATIONS"
        ) from None


def document(app: Chalice) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route the app serves."""
    paths: dict[str, Any] = {}
    components = schemas()
    for method, path, view_name in routes(app):
        operation = operation_for(method, path)
        paths.setdefault(path, {})[method.lower()] = _operation(
            method, path, view_name, operation, components
        )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Herald",
            "version": API_VERSION,
            "summary": "Self-hosted in-app messaging engagements",
            "description": (
                'JSON in and out. Every error is `{"Code", "Message"}` with a 4xx status for '
                "a client mistake. Management routes take `Authorization: Bearer <admin key>` "
                "(or the root key); device routes take `X-Client-Key: <client key>`."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {
                name: {
                    "description": description,
                    "content": {"application/json": {"schema": _ref(Error)}},
                }
                for name, description in ERRORS.values()
            },
            "securitySchemes": {
                "rootKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The deployment's root key: creates apps, manages any app.",
                },
                "adminKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An app's admin key: manages that app only.",
                },
                "clientKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Client-Key",
                    "description": "An app's client key, embedded in the mobile app.",
                },
            },
        },
    }
