"""Request bodies of the management API, validated strictly with pydantic v2.

Bodies are parsed from raw JSON in strict mode: a string where a number is expected, an unknown
field or a naive date-time is a 400, never a silent conversion.
"""

import json
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from chalicelib.api import rule_schema
from chalicelib.api.inputs import Instant
from chalicelib.domain import links, questions, rules, templates

_HEX_COLOUR = r"^#[0-9A-Fa-f]{6}$"
TOKEN_PATTERN = r"^[A-Za-z0-9_.:-]+$"
_LOCALE = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$"
LOCALE_PATTERN = _LOCALE


_http_url = links.check_https  # url targets and images: https only (SPEC §7.4)
_deep_link = links.check_deep_link


# Unicode's White_Space, which pydantic strips (str.isspace also counts \x1c-\x1f)
_SPACES = "".join(
    f"\\u{code:04x}"
    for code in range(0x3001)
    if chr(code).isspace() and code not in range(0x1C, 0x20)
)
# what stripping leaves something of: a field stripped, then at least 1 character long
NOT_BLANK = {"pattern": f"[^{_SPACES}]"}

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(json_schema_extra=NOT_BLANK),
]
Token = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TOKEN_PATTERN)]
Colour = Annotated[str, StringConstraints(pattern=_HEX_COLOUR)]
# https, a host, no spaces (str.isspace) or control characters: links.check_https, exactly
_NOT_PLAIN = "".join(
    f"\\u{code:04x}" for code in range(0x3001) if chr(code).isspace() or code < 0x20 or code == 0x7F
)
_PLAIN = f"[^{_NOT_PLAIN}]"
_HOST = f"[^{_NOT_PLAIN}/?#@:\\[\\]]"
HTTPS_URL_PATTERN = f"^[Hh][Tt][Tt][Pp][Ss]://{_HOST}+(:[0-9]*)?([/?#]{_PLAIN}*)?$"
HttpUrl = Annotated[
    str,
    StringConstraints(max_length=2048),
    AfterValidator(_http_url),
    Field(json_schema_extra={"pattern": HTTPS_URL_PATTERN}),
]
Locale = Annotated[str, StringConstraints(pattern=_LOCALE)]
ElementId = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
]


def _number(low: int, high: int) -> Any:
    """An int or a float within [low, high]; its JSON Schema says so (pydantic's own puts the
    bounds of a union where no validator reads them)."""
    return Annotated[
        int | float,
        Field(ge=low, le=high),
        WithJsonSchema({"type": "number", "minimum": low, "maximum": high}),
    ]


Percent = _number(0, 100)


_CLOSED = {"additionalProperties": False}  # a dict whose keys have a pattern takes no others


class Strict(BaseModel):
    """defer_build: a model builds its validator the first time it validates (a fetch builds
    one of these models, the consumer the event models), not when this module is imported."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, defer_build=True)


class CreateApp(Strict):
    name: Name


KEY_KINDS = ("admin", "client")
DEFAULT_OVERLAP_HOURS = {"admin": 0, "client": 7 * 24}  # shipped apps cannot change at once


class RotateKeys(Strict):
    """`POST …/keys/rotate`: one kind of key (both when absent), the previous one valid for
    `overlap_hours` (default: 0 for the admin key, 7 days for the client key; 0 = at once)."""

    kind: Literal["admin", "client"] | None = None
    overlap_hours: Annotated[int, Field(ge=0, le=90 * 24)] | None = None


MAX_WEB_ORIGINS = 20


# scheme://host[:port] in lower case: a DNS name (punycode for an international one) or [IPv6]
WEB_ORIGIN_PATTERN = r"^https?://(\[[0-9a-f:.]+\]|[a-z0-9-]+(\.[a-z0-9-]+)*)(:[0-9]{1,5})?$"
_WEB_ORIGIN = re.compile(WEB_ORIGIN_PATTERN)


def _web_origin(value: str) -> str:
    """An exact origin as browsers send it in `Origin`: scheme://host[:port], lower case, no
    path, no default port, no wildcard."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an origin such as https://shop.example.com")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has an invalid port") from None
    if "*" in value:
        raise ValueError("must be an exact origin: wildcards are not allowed")
    if not value.isascii():
        raise ValueError("must be ASCII: write an international domain in punycode (xn--...)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not hold a user name or password")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    canonical = f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")
    if value != canonical:
        raise ValueError(f"must be exactly the origin {canonical!r} (no path, lower case)")
    if not _WEB_ORIGIN.fullmatch(value):  # what the document's pattern says, e.g. no "_"
        raise ValueError("must be an origin such as https://shop.example.com")
    return value


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("lists an origin twice")
    return values


WebOrigin = Annotated[
    str,
    StringConstraints(max_length=300),
    AfterValidator(_web_origin),
    Field(
        description="No default port (:80 for http, :443 for https); ports up to 65535.",
        json_schema_extra={"pattern": WEB_ORIGIN_PATTERN},
    ),
]
WebOrigins = Annotated[
    list[WebOrigin],
    Field(max_length=MAX_WEB_ORIGINS, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_distinct),
]


class PinpointSettings(Strict):
    """The Pinpoint dialect (SPEC §6.3): off until the owner turns it on."""

    enabled: bool = False


class AppSettings(Strict):
    """What an app's owner may change (PATCH /v1/apps/{app_id} is a merge patch of it)."""

    name: Name
    web_origins: WebOrigins = []
    pinpoint: PinpointSettings = PinpointSettings()


class CreateAudience(Strict):
    name: Name
    description: Text = ""
    rules: Annotated[dict[str, Any], WithJsonSchema(rule_schema.audience_rule())]

    @field_validator("rules", mode="after")
    @classmethod
    def _valid_rule(cls, value: dict[str, Any]) -> dict[str, Any]:
        return rules.to_json(rules.parse_rule(value, "rules"))


class ButtonAction(Strict):
    type: Literal["dismiss", "deep_link", "url"]
    target: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None

    @model_validator(mode="after")
    def _target_fits_type(self) -> "ButtonAction":
        if self.type == "dismiss":
            if self.target is not None:
                raise ValueError("a dismiss action takes no target")
        elif self.target is None:
            raise ValueError(f"a {self.type} action needs a target")
        elif self.type == "url":
            _http_url(self.target)
        else:
            _deep_link(self.target)
        return self


def _template(limit: int) -> Any:
    """A text field that may hold {{ … }} tags (chalicelib/domain/templates.py): `limit`
    characters rendered; the template itself may be longer."""
    return Annotated[
        str,
        StringConstraints(max_length=templates.SOURCE_FACTOR * limit),
        AfterValidator(templates.checker(limit)),
    ]


def _stripped_template(limit: int) -> Any:
    return Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=templates.SOURCE_FACTOR * limit
        ),
        AfterValidator(templates.checker(limit)),
        Field(json_schema_extra=NOT_BLANK),
    ]


Title = _template(templates.TITLE_CHARS)
Body = _template(templates.BODY_CHARS)
Label = _stripped_template(templates.LABEL_CHARS)
Prompt = _stripped_template(templates.PROMPT_CHARS)
SubmitLabel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=templates.LABEL_CHARS),
    Field(json_schema_extra=NOT_BLANK),
]
OptionLabel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    Field(json_schema_extra=NOT_BLANK),
]


class Button(Strict):
    id: ElementId
    label: Label
    action: ButtonAction
    background_color: Colour | None = None
    text_color: Colour | None = None


class ChoiceOption(Strict):
    id: ElementId
    label: OptionLabel


class _Question(Strict):
    prompt: Prompt
    submit_label: SubmitLabel = "Submit"


class RatingQuestion(_Question):
    type: Literal["rating"]


class NpsQuestion(_Question):
    type: Literal["nps"]


class ChoiceQuestion(_Question):
    type: Literal["choice"]
    options: Annotated[list[ChoiceOption], Field(min_length=2, max_length=6)]
    multiple: bool = False

    @field_validator("options")
    @classmethod
    def _unique_ids(cls, options: list[ChoiceOption]) -> list[ChoiceOption]:
        if len({option.id for option in options}) != len(options):
            raise ValueError("option ids must be unique")
        return options


class TextQuestion(_Question):
    type: Literal["text"]
    max_length: Annotated[int, Field(ge=1, le=questions.MAX_TEXT)] = questions.MAX_TEXT


Question = Annotated[
    RatingQuestion | NpsQuestion | ChoiceQuestion | TextQuestion, Field(discriminator="type")
]


class QuestionLocalization(Strict):
    prompt: Prompt | None = None
    submit_label: SubmitLabel | None = None
    options: Annotated[dict[ElementId, OptionLabel], Field(json_schema_extra=_CLOSED)] = {}


class Localization(Strict):
    title: Title | None = None
    body: Body | None = None
    image_url: HttpUrl | None = None
    buttons: Annotated[
        dict[ElementId, _stripped_template(templates.LABEL_CHARS)], Field(json_schema_extra=_CLOSED)
    ] = {}
    question: QuestionLocalization | None = None


Layout = Literal["banner_top", "banner_bottom", "modal", "full_screen", "card", "image_only"]


class Message(Strict):
    layout: Layout
    title: Title | None = None
    body: Body | None = None
    image_url: HttpUrl | None = None
    background_color: Colour | None = None
    text_color: Colour | None = None
    buttons: Annotated[list[Button], Field(max_length=2)] = []
    data: Annotated[
        dict[Token, Annotated[str, StringConstraints(max_length=1000)]],
        Field(max_length=20, json_schema_extra=_CLOSED),
    ] = {}
    localizations: Annotated[
        dict[Locale, Localization], Field(max_length=50, json_schema_extra=_CLOSED)
    ] = {}
    question: Question | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "Message":
        if self.layout == "image_only" and not self.image_url:
            raise ValueError("an image_only message needs image_url")
        if self.layout != "image_only" and not (self.title or self.body):
            raise ValueError(f"a {self.layout} message needs a title or a body")
        ids = [button.id for button in self.buttons]
        if len(ids) != len(set(ids)):
            raise ValueError("button ids must be unique within a message")
        for locale, localization in self.localizations.items():
            unknown = set(localization.buttons) - set(ids)
            if unknown:
                raise ValueError(
                    f"localizations.{locale}.buttons: unknown button id(s) {sorted(unknown)}"
                )
            asked = localization.question
            if asked is not None and self.question is None:
                raise ValueError(f"localizations.{locale}.question: the message asks no question")
            if asked is not None and asked.options:
                options = getattr(self.question, "options", [])
                unknown = set(asked.options) - {option.id for option in options}
                if unknown:
                    raise ValueError(
                        f"localizations.{locale}.question.options: unknown option id(s) "
                        f"{sorted(unknown)}"
                    )
        return self


class Variant(Strict):
    key: Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]
    weight: Annotated[int, Field(ge=0, le=100)] | None = None
    message: Message


_UNIQUE = {"uniqueItems": True}


class AudienceTarget(Strict):
    audience_ids: Annotated[
        list[Token],
        Field(
            max_length=20,
            json_schema_extra=_UNIQUE,
            description="Audiences of this app (POST …/audiences); an unknown one is a 400.",
        ),
    ] = []
    user_ids: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=128)]],
        Field(max_length=1000, json_schema_extra=_UNIQUE),
    ] = []
    device_ids: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=128)]],
        Field(max_length=1000, json_schema_extra=_UNIQUE),
    ] = []
    percent: Percent = 100

    @field_validator("audience_ids", "user_ids", "device_ids")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        if len(values) != len(set(values)):
            raise ValueError("must not repeat an id")
        return values


class Schedule(Strict):
    start_at: Instant
    end_at: Instant

    @model_validator(mode="after")
    def _ordered(self) -> "Schedule":
        if self.start_at >= self.end_at:
            raise ValueError("end_at must be after start_at")
        return self


class Trigger(Strict):
    event: Token = "app_launch"
    conditions: Annotated[
        list[dict[str, Any]], WithJsonSchema(rule_schema.trigger_conditions())
    ] = []

    @field_validator("conditions", mode="after")
    @classmethod
    def _valid_conditions(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        parsed = rules.parse_conditions(value, "trigger.conditions", rules.event_attribute)
        return [rules.to_json(condition) for condition in parsed]


class Frequency(Strict):
    max_impressions: Annotated[int, Field(ge=1, le=10_000)] | None = None
    max_per_day: Annotated[int, Field(ge=1, le=1000)] | None = None
    min_interval_seconds: Annotated[int, Field(ge=0, le=31_536_000)] | None = None


class MetricMapping(Strict):
    element: ElementId
    metric: Token


class Conversion(Strict):
    event: Token
    window_hours: Annotated[int, Field(ge=1, le=720)] = 24


class EngagementSpec(Strict):
    """Everything an owner says about an engagement (what PATCH can change, minus the frozen)."""

    name: Name
    description: Text = ""
    type: Literal["in_app_message"] = "in_app_message"
    ab_test: bool = False
    control_percent: _number(0, 50) = 0
    variants: Annotated[list[Variant], Field(min_length=1, max_length=8)]
    audience: AudienceTarget = AudienceTarget()
    schedule: Schedule
    trigger: Trigger = Trigger()
    frequency: Frequency = Frequency()
    priority: Annotated[int, Field(ge=1, le=10)] = 5
    metrics: Annotated[list[MetricMapping], Field(max_length=20)] = []
    conversion: Conversion | None = None
    test_device_ids: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=128)]], Field(max_length=20)
    ] = []

    @model_validator(mode="after")
    def _consistent(self) -> "EngagementSpec":
        keys = [variant.key for variant in self.variants]
        if len(keys) != len(set(keys)):
            raise ValueError("variants: keys must be unique")
        if not self.ab_test and len(self.variants) != 1:
            raise ValueError("variants: exactly one variant unless ab_test is true")
        if len(self.variants) == 1 and self.variants[0].weight is None:
            self.variants[0].weight = 100
        if any(variant.weight is None for variant in self.variants):
            raise ValueError("variants: every variant of an A/B test needs a weight")
        total = sum(variant.weight for variant in self.variants)
        if total != 100:
            raise ValueError(f"variants: weights must sum to 100, not {total}")
        elements = {button.id for variant in self.variants for button in variant.message.buttons}
        for index, mapping in enumerate(self.metrics):
            if mapping.element not in elements:
                raise ValueError(
                    f"metrics[{index}].element: {mapping.element!r} is not a button of any variant"
                )
        mapped = [mapping.element for mapping in self.metrics]
        if len(mapped) != len(set(mapped)):
            raise ValueError("metrics: an element is mapped to one metric only")
        return self

    @property
    def assignment_fields(self) -> tuple:
        """What decides which device sees which variant: frozen once the engagement has run."""
        return (
            self.ab_test,
            self.control_percent,
            tuple((variant.key, variant.weight) for variant in self.variants),
        )


class CreateEngagement(EngagementSpec):
    status: Literal["draft"] | None = None


TIMEZONES = sorted(available_timezones())  # the document lists them: the same set, exactly


def _timezone(value: str) -> str:
    if value not in _ZONES:
        raise ValueError("must be an IANA time zone such as Europe/Paris")
    return value


_ZONES = frozenset(TIMEZONES)


def _small_attributes(value: dict) -> dict:
    if len(json.dumps(value)) > 8 * 1024:
        raise ValueError("must be at most 8 KiB of JSON")
    return value


ATTRIBUTE_NAME_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
AttributeName = Annotated[str, StringConstraints(pattern=ATTRIBUTE_NAME_PATTERN)]
Scalar = Annotated[str, StringConstraints(max_length=1024)] | bool | int | float
Attributes = Annotated[
    dict[AttributeName, Scalar],
    Field(
        max_length=50,
        description="At most 50 attributes and 8 KiB of JSON.",
        json_schema_extra=_CLOSED,
    ),
    AfterValidator(_small_attributes),
]
DEVICE_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"


class RegisterDevice(Strict):
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    # hex(HMAC-SHA256(identity_secret, user_id)), from the app's backend (SPEC §7.1); not stored
    user_token: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    platform: Literal["ios", "android", "web"] | None = None
    os_version: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    app_version: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    locale: Locale | None = None
    timezone: (
        Annotated[
            str,
            AfterValidator(_timezone),
            WithJsonSchema({"type": "string", "enum": TIMEZONES}),
        ]
        | None
    ) = None
    attributes: Attributes = {}


class ConfigureIdentity(Strict):
    """`POST …/identity`: require proven user ids with a new secret (the previous one valid for
    `overlap_hours`, default 7 days), or `{"identity": "off"}`."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "overlap_hours only with identity required.",
            "if": {"properties": {"identity": {"const": "off"}}, "required": ["identity"]},
            "then": {"properties": {"overlap_hours": {"type": "null"}}},
        }
    )

    identity: Literal["required", "off"] = "required"
    overlap_hours: Annotated[int, Field(ge=0, le=90 * 24)] | None = None


class EnrolTestDevice(Strict):
    device_id: Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
    label: Name


class FetchMessages(Strict):
    event: Token = "app_launch"
    attributes: Attributes = {}


# --- events: what apps report (POST /v1/apps/{app_id}/events) and what the queue carries ------

EventId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TOKEN_PATTERN)]
DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
VariantKey = Annotated[
    str, StringConstraints(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
]
EVENT_TYPES = ("impression", "click", "dismiss", "custom", "render_error", "response")
MAX_EVENTS = 100


class _Event(Strict):
    id: EventId
    device_id: DeviceId
    timestamp: Instant
    attributes: Attributes = {}


class _MessageEvent(_Event):
    """An event about a message that was shown: which engagement and variant."""

    engagement_id: Token
    variant: VariantKey


class ImpressionEvent(_MessageEvent):
    type: Literal["impression"]


class ClickEvent(_MessageEvent):
    type: Literal["click"]
    element: ElementId


class DismissEvent(_MessageEvent):
    type: Literal["dismiss"]


class RenderErrorEvent(_MessageEvent):
    type: Literal["render_error"]


class CustomEvent(_Event):
    type: Literal["custom"]
    name: Token


AnswerValue = (
    Annotated[int, Field(ge=-1000, le=1000)]
    | Annotated[str, StringConstraints(min_length=1, max_length=questions.MAX_TEXT)]
    | Annotated[list[ElementId], Field(min_length=1, max_length=6)]
)


class ResponseEvent(_MessageEvent):
    """An answer to the question of the message shown. Its shape is checked here; whether it
    answers that question is checked by POST /events against the app's engagements (400), and
    again by the consumer, which rejects what no longer fits (the question changed meanwhile)."""

    type: Literal["response"]
    value: AnswerValue


ClientEvent = Annotated[
    ImpressionEvent | ClickEvent | DismissEvent | RenderErrorEvent | CustomEvent | ResponseEvent,
    Field(discriminator="type"),
]


class PostEvents(Strict):
    events: Annotated[list[ClientEvent], Field(min_length=1, max_length=MAX_EVENTS)]


class ControlAssignedEvent(Strict):
    """Internal (never from a client): a fetch found its subject in an engagement's control
    group. The id is derived from the engagement and the subject, so it counts once."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    type: Literal["assigned"]
    device_id: DeviceId
    subject: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    engagement_id: Token
    timestamp: Instant


QueuedEvent = Annotated[
    ImpressionEvent
    | ClickEvent
    | DismissEvent
    | RenderErrorEvent
    | CustomEvent
    | ResponseEvent
    | ControlAssignedEvent,
    Field(discriminator="type"),
]


class QueuedEvents(Strict):
    """The body of one message of the events queue: some events of one app."""

    app_id: Token
    events: Annotated[list[QueuedEvent], Field(min_length=1, max_length=MAX_EVENTS)]
    # set by the consumer on events it sent back to wait for their impression (epoch seconds)
    held_since: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
