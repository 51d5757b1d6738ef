"""Whether a device gets an engagement now, and if not, why: one function for the fetch, explain
and the Pinpoint dialect.

The checks run in a fixed order and the first that fails is the reason:
status, time window, trigger, audience, percent, control group, caps.
Test devices skip everything but the trigger.

The trigger is asked in one of two ways. Herald's fetch names the event (`OnEvent`): its name
and conditions must match. A client that matches triggers itself asks for whatever could show on
any event (`OnAnyEvent`, the Pinpoint dialect): the trigger then only has to be one that client
can evaluate, else the engagement stays out with `trigger_unsupported`.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain import assignment, rules
from chalicelib.domain.lifecycle import ACTIVE, PAUSED, SCHEDULED

MAX_FAILURES_SHOWN = 10
BUCKET_SECONDS = 900  # impressions are counted in quarter hours: every UTC offset is a multiple

NOT_ACTIVE = "not_active"
OUTSIDE_WINDOW = "outside_window"
PAUSED_REASON = "paused"
EVENT_MISMATCH = "event_mismatch"
EVENT_CONDITIONS = "event_conditions"
NOT_IN_AUDIENCE = "not_in_audience"
OUTSIDE_PERCENT = "outside_percent"
CONTROL_GROUP = "control_group"
CAPPED_TOTAL = "capped_total"
CAPPED_DAILY = "capped_daily"
CAPPED_INTERVAL = "capped_interval"
TRIGGER_UNSUPPORTED = "trigger_unsupported"


@dataclass(frozen=True)
class Frequency:
    max_impressions: int | None = None
    max_per_day: int | None = None
    min_interval_seconds: int | None = None


@dataclass(frozen=True)
class CompiledEngagement:
    """An engagement prepared for fast evaluation (rules parsed, ids in sets)."""

    engagement_id: str
    name: str
    status: str
    start_at: datetime
    end_at: datetime
    priority: int
    event: str
    conditions: tuple[rules.Condition, ...]
    audiences: tuple[rules.Group, ...]
    user_ids: frozenset[str]
    device_ids: frozenset[str]
    percent: float
    control_percent: float
    variants: tuple[tuple[str, int], ...]
    messages: Mapping[str, dict]
    frequency: Frequency
    metrics: Mapping[str, str]
    test_device_ids: frozenset[str]
    audience_ids: tuple[str, ...] = ()  # of `audiences`, in the same order

    @property
    def for_everyone(self) -> bool:
        return not (self.audiences or self.user_ids or self.device_ids)


def compile_engagement(
    engagement_id: str, status: str, spec: dict[str, Any], audience_rules: Mapping[str, dict]
) -> CompiledEngagement:
    """`spec` is a stored (already validated) engagement; `audience_rules` maps id -> rule."""
    audience = spec.get("audience", {})
    trigger = spec.get("trigger", {})
    schedule = spec["schedule"]
    return CompiledEngagement(
        engagement_id=engagement_id,
        name=spec["name"],
        status=status,
        start_at=datetime.fromisoformat(schedule["start_at"]),
        end_at=datetime.fromisoformat(schedule["end_at"]),
        priority=spec.get("priority", 5),
        event=trigger.get("event", "app_launch"),
        conditions=rules.parse_conditions(
            trigger.get("conditions", []), "trigger.conditions", rules.event_attribute
        ),
        audiences=tuple(
            rules.parse_rule(audience_rules[audience_id], "rules")
            for audience_id in audience.get("audience_ids", [])
            if audience_id in audience_rules
        ),
        audience_ids=tuple(
            audience_id
            for audience_id in audience.get("audience_ids", [])
            if audience_id in audience_rules
        ),
        user_ids=frozenset(audience.get("user_ids", [])),
        device_ids=frozenset(audience.get("device_ids", [])),
        percent=audience.get("percent", 100),
        control_percent=spec.get("control_percent", 0),
        variants=tuple((v["key"], v["weight"]) for v in spec["variants"]),
        messages={v["key"]: v["message"] for v in spec["variants"]},
        frequency=Frequency(**spec.get("frequency", {})),
        metrics={m["element"]: m["metric"] for m in spec.get("metrics", [])},
        test_device_ids=frozenset(spec.get("test_device_ids", [])),
    )


@dataclass(frozen=True)
class Device:
    device_id: str
    registered: bool
    fields: Mapping[str, Any] = field(default_factory=dict)  # user_id, platform, attributes...
    test: bool = False  # an enrolled test device that proved it (its X-Herald-Test-Token)

    @property
    def subject(self) -> str:
        """Whom assignment and caps follow: the user when known, else the installation."""
        user_id = self.fields.get("user_id")
        return f"user:{user_id}" if user_id else f"device:{self.device_id}"

    @cached_property
    def timezone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.fields.get("timezone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


@dataclass(frozen=True)
class ImpressionHistory:
    """Impressions of one engagement by one subject: total, last time, counts per quarter hour."""

    total: int = 0
    last_at: float | None = None  # epoch seconds
    buckets: Mapping[int, int] = field(default_factory=dict)  # epoch // 900 -> count

    def count_between(self, start: datetime, end: datetime) -> int:
        first, last = (
            int(start.timestamp()) // BUCKET_SECONDS,
            int(end.timestamp()) // BUCKET_SECONDS,
        )
        return sum(count for bucket, count in self.buckets.items() if first <= bucket < last)


NO_HISTORY = ImpressionHistory()


@dataclass(frozen=True)
class Decision:
    eligible: bool
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    variant: str | None = None
    test: bool = False


@dataclass(frozen=True)
class OnEvent:
    """The fetch's question: what to show on this event, with these attributes."""

    name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


# Why a client cannot evaluate a trigger's conditions (a detail for explain), or None if it can.
TriggerCheck = Callable[[tuple[rules.Condition, ...]], dict[str, Any] | None]


@dataclass(frozen=True)
class OnAnyEvent:
    """A client that filters by trigger itself asks what could show on any event. `dialect`
    names it in explanations; `unsupported` says which conditions it cannot evaluate."""

    dialect: str
    unsupported: TriggerCheck


Occasion = OnEvent | OnAnyEvent


def _no(reason: str, **detail: Any) -> Decision:
    return Decision(eligible=False, reason=reason, detail=detail)


@lru_cache(maxsize=256)  # one fetch asks for the same day once per capped engagement
def local_day(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The device's current calendar day, as [midnight, next midnight), DST-aware."""
    today = now.astimezone(zone).date()
    start = datetime(today.year, today.month, today.day, tzinfo=zone)
    following = today + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return start, end


def decide(
    engagement: CompiledEngagement,
    device: Device,
    history: ImpressionHistory,
    occasion: Occasion,
    now: datetime,
    behaviour: rules.Behaviour = rules.NO_BEHAVIOUR,
    explain: bool = False,
) -> Decision:
    """`behaviour` is the subject's profile (behavioural audience conditions read it);
    `explain` adds to a `not_in_audience` decision the conditions that failed."""
    if device.test and device.device_id in engagement.test_device_ids:
        trigger = _trigger_problem(engagement, occasion)
        if trigger is not None:
            return trigger
        variant = assignment.pick_variant(
            engagement.engagement_id, device.subject, engagement.variants
        )
        return Decision(eligible=True, variant=variant, test=True)
    if engagement.status == PAUSED:
        return _no(PAUSED_REASON)
    if engagement.status not in (SCHEDULED, ACTIVE):
        return _no(NOT_ACTIVE, status=engagement.status)
    if not engagement.start_at <= now < engagement.end_at:
        return _no(
            OUTSIDE_WINDOW,
            start_at=engagement.start_at.isoformat(),
            end_at=engagement.end_at.isoformat(),
            now=now.isoformat(),
        )
    trigger = _trigger_problem(engagement, occasion)
    if trigger is not None:
        return trigger
    audience = _audience_problem(engagement, device, behaviour, explain)
    if audience is not None:
        return audience
    placed = assignment.assign(
        engagement.engagement_id,
        device.subject,
        engagement.percent,
        engagement.control_percent,
        engagement.variants,
    )
    if not placed.in_percent:
        return _no(OUTSIDE_PERCENT, percent=engagement.percent)
    if placed.in_control:
        return _no(CONTROL_GROUP, control_percent=engagement.control_percent)
    capped = _cap_problem(engagement.frequency, history, device, now)
    if capped is not None:
        return capped
    return Decision(eligible=True, variant=placed.variant)


def _trigger_problem(engagement: CompiledEngagement, occasion: Occasion) -> Decision | None:
    if isinstance(occasion, OnAnyEvent):
        unsupported = occasion.unsupported(engagement.conditions)
        if unsupported is not None:
            return _no(TRIGGER_UNSUPPORTED, dialect=occasion.dialect, **unsupported)
        return None
    if occasion.name != engagement.event:
        return _no(EVENT_MISMATCH, expected=engagement.event, received=occasion.name)
    for condition in engagement.conditions:
        actual = occasion.attributes.get(condition.attribute, rules.MISSING)
        if not rules.holds(condition, actual):
            return _no(EVENT_CONDITIONS, condition=rules.to_json(condition))
    return None


def _audience_problem(
    engagement: CompiledEngagement, device: Device, behaviour: rules.Behaviour, explain: bool
) -> Decision | None:
    if engagement.for_everyone:
        return None
    if not device.registered:
        return _no(NOT_IN_AUDIENCE, registered=False)
    if device.device_id in engagement.device_ids:
        return None
    user_id = device.fields.get("user_id")
    if user_id and user_id in engagement.user_ids:
        return None
    lookup = rules.device_lookup({**device.fields, "device_id": device.device_id})
    if any(rules.evaluate(rule, lookup, behaviour) for rule in engagement.audiences):
        return None
    if not explain:
        return _no(NOT_IN_AUDIENCE, registered=True)
    failed = [
        {"audience_id": audience_id, **failure}
        for audience_id, rule in zip(engagement.audience_ids, engagement.audiences, strict=True)
        for failure in rules.failures(rule, lookup, behaviour)
    ]
    return _no(
        NOT_IN_AUDIENCE,
        registered=True,
        failed=failed[:MAX_FAILURES_SHOWN],
        message="; ".join(failure["message"] for failure in failed[:MAX_FAILURES_SHOWN]),
    )


def _cap_problem(
    frequency: Frequency, history: ImpressionHistory, device: Device, now: datetime
) -> Decision | None:
    if frequency.max_impressions is not None and history.total >= frequency.max_impressions:
        return _no(
            CAPPED_TOTAL, impressions=history.total, max_impressions=frequency.max_impressions
        )
    if frequency.max_per_day is not None:
        start, end = local_day(now, device.timezone)
        today = history.count_between(start, end)
        if today >= frequency.max_per_day:
            return _no(
                CAPPED_DAILY,
                impressions_today=today,
                max_per_day=frequency.max_per_day,
                timezone=str(device.timezone),
                day_ends_at=end.isoformat(),
            )
    if frequency.min_interval_seconds and history.last_at is not None:
        elapsed = now.timestamp() - history.last_at
        if elapsed < frequency.min_interval_seconds:
            return _no(
                CAPPED_INTERVAL,
                seconds_since_last=math.floor(elapsed),
                min_interval_seconds=frequency.min_interval_seconds,
            )
    return None
