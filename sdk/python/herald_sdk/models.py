"""What Herald answers, as pydantic v2 models of this SDK's own (nothing shared with the server).

Answers may gain fields: every model keeps the fields it does not know (`extra="allow"`), so a
newer server never breaks an older SDK, and `model_dump()` gives back everything that was sent.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class PreviousKey(Model):
    fingerprint: str
    expires_at: str


class KeyView(Model):
    """A key as the app view shows it: never the key, its fingerprint and since when."""

    fingerprint: str
    since: str | None = None
    previous: PreviousKey | None = None  # the key it replaced, while that still works


class IdentitySecretView(Model):
    secret_id: str
    expires_at: str | None = None  # None: the current secret


class App(Model):
    app_id: str
    name: str
    web_origins: list[str] = []
    created_at: str | None = None
    keys: dict[str, KeyView] = {}  # "admin", "client"
    identity: str = "off"  # "off" or "required"
    identity_secrets: list[IdentitySecretView] = []


class AppCreated(App):
    admin_key: str
    client_key: str


class Keys(Model):
    """New keys, shown once; the ones they replace work until their `previous_…` expiry."""

    app_id: str
    admin_key: str | None = None
    client_key: str | None = None
    previous_admin_key_expires_at: str | None = None
    previous_client_key_expires_at: str | None = None


class Identity(Model):
    """The app's identity verification. `identity_secret` is in the answer that made it only."""

    identity: str
    identity_secret: str | None = None
    secret_id: str | None = None
    identity_secrets: list[IdentitySecretView] = []


class TestDevice(Model):
    """An enrolled test device; `test_token` is in the enrolment's answer only."""

    __test__ = False  # not a pytest test class, whatever its name

    device_id: str
    label: str
    enrolled_at: str
    test_token: str | None = None


class Audience(Model):
    audience_id: str
    app_id: str
    name: str
    description: str = ""
    rules: dict[str, Any]
    used_by: list[str] = []
    version: int
    created_at: str | None = None
    updated_at: str | None = None


STATE = ("engagement_id", "app_id", "status", "version", "ever_active", "created_at", "updated_at")


class Engagement(Model):
    """An engagement as stored: its spec (name, variants, schedule, ...) and its state."""

    engagement_id: str
    app_id: str
    name: str
    status: str
    version: int
    ab_test: bool = False
    control_percent: int | float = 0
    variants: list[dict[str, Any]]
    schedule: dict[str, Any]
    audience: dict[str, Any] = {}
    trigger: dict[str, Any] = {}
    frequency: dict[str, Any] = {}
    priority: int = 5
    metrics: list[dict[str, Any]] = []
    conversion: dict[str, Any] | None = None
    test_device_ids: list[str] = []
    description: str = ""
    type: str = "in_app_message"
    ever_active: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None

    def spec(self) -> dict[str, Any]:
        """The fields an owner writes (what a create takes and a PATCH may change)."""
        return {k: v for k, v in self.model_dump(exclude_none=True).items() if k not in STATE}


class Device(Model):
    device_id: str
    app_id: str
    user_id: str | None = None
    platform: str | None = None
    locale: str | None = None
    timezone: str | None = None
    attributes: dict[str, Any] = {}


class FetchedMessage(Model):
    engagement_id: str
    variant: str
    priority: int = 5
    test: bool = False
    message: dict[str, Any]
    metrics: dict[str, str] = {}
    expires_at: str | None = None


class Messages(Model):
    messages: list[FetchedMessage]
    next_fetch_after: int | None = None


class Explanation(Model):
    engagement_id: str
    name: str
    eligible: bool
    reason: str | None = None
    detail: dict[str, Any] | None = None


class Explain(Model):
    device_id: str
    event: str
    engagements: list[Explanation]


class VariantMetrics(Model):
    key: str
    impressions: int = 0
    unique_devices: int = 0
    clicks: int = 0
    clicks_by_element: dict[str, int] = {}
    metrics: dict[str, int] = {}
    dismissals: int = 0
    render_errors: int = 0
    conversions: int = 0
    ctr: float | None = None
    conversion_rate: float | None = None
    lift_vs_control: float | None = None
    lift_vs_first: float | None = None
    p_value: float | None = None
    significant: bool = False
    question: str | None = None  # the kind of question the variant asks, if any
    responses: int = 0
    response_rate: float | None = None
    distribution: dict[str, int] = {}
    mean: float | None = None
    nps: float | None = None


class ControlMetrics(Model):
    assigned: int = 0
    conversions: int = 0
    conversion_rate: float | None = None


class Metrics(Model):
    engagement_id: str
    goal: str
    variants: list[VariantMetrics]
    control: ControlMetrics | None = None
    series: list[dict[str, Any]] | None = None
    rejected: dict[str, int] = {}  # events refused, per reason


class TextAnswer(Model):
    """A text answer to an engagement's question."""

    variant: str
    value: str
    at: str | None = None
    subject: str | None = None
