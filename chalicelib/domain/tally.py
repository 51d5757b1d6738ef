"""What an event counts: the metrics of an engagement's daily counters, and how they change.

Counters are kept per engagement, per group (a variant key, or CONTROL for the control group)
and per UTC day of the event's own timestamp, so the same events give the same counters in
whatever order they are processed. Totals are the sum of the days.

Two counts are once per device (or subject) rather than once per event: a device reached
(`unique_devices`, on the day of its earliest impression) and a conversion (on the day of the
earliest credited conversion). When an earlier event arrives after a later one was counted, the
count moves to the earlier day (`moved`): -1 where it was, +1 where it belongs.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CONTROL = "~control"  # the control group's key; "~" cannot appear in a variant key

IMPRESSIONS = "impressions"
CLICKS = "clicks"
DISMISSALS = "dismissals"
RENDER_ERRORS = "render_errors"
CONVERSIONS = "conversions"
UNIQUE_DEVICES = "unique_devices"
ASSIGNED = "assigned"  # control group members counted when they fetched
COUNTS = (
    IMPRESSIONS,
    UNIQUE_DEVICES,
    CLICKS,
    DISMISSALS,
    RENDER_ERRORS,
    CONVERSIONS,
    ASSIGNED,
)
ELEMENT_PREFIX = "element#"  # clicks on one message element: "element#buy"
METRIC_PREFIX = "metric#"  # clicks on an element mapped to a metric: "metric#spring_buy_clicked"

SIMPLE_COUNTS = {"impression": IMPRESSIONS, "dismiss": DISMISSALS, "render_error": RENDER_ERRORS}


@dataclass(frozen=True)
class Increment:
    group: str  # a variant key or CONTROL
    day: str  # YYYY-MM-DD, UTC
    metric: str  # one of COUNTS, or ELEMENT_PREFIX / METRIC_PREFIX + a name
    delta: int = 1


def day_of(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).date().isoformat()


@dataclass(frozen=True)
class EngagementFacts:
    """What counting needs to know about an engagement (read from its stored spec)."""

    engagement_id: str
    variants: tuple[tuple[str, int], ...]  # (key, weight), in the spec's order
    elements: frozenset[str]  # button ids of every variant
    buttons: Mapping[str, frozenset[str]]  # variant key -> its button ids
    questions: Mapping[str, Mapping[str, Any]]  # variant key -> the question its message asks
    metrics: Mapping[str, str]  # element -> metric name
    conversion_event: str | None
    window_seconds: float  # the conversion window
    percent: float
    control_percent: float
    start_at: float  # epoch seconds
    end_at: float

    @classmethod
    def of(cls, engagement_id: str, spec: Mapping[str, Any]) -> "EngagementFacts":
        conversion = spec.get("conversion") or {}
        schedule = spec["schedule"]
        return cls(
            engagement_id=engagement_id,
            variants=tuple((v["key"], v["weight"]) for v in spec["variants"]),
            elements=frozenset(
                button["id"] for v in spec["variants"] for button in v["message"].get("buttons", [])
            ),
            buttons={
                v["key"]: frozenset(button["id"] for button in v["message"].get("buttons", []))
                for v in spec["variants"]
            },
            questions={
                v["key"]: v["message"]["question"]
                for v in spec["variants"]
                if v["message"].get("question")
            },
            metrics={m["element"]: m["metric"] for m in spec.get("metrics", [])},
            conversion_event=conversion.get("event"),
            window_seconds=conversion.get("window_hours", 0) * 3600.0,
            percent=spec.get("audience", {}).get("percent", 100),
            control_percent=spec.get("control_percent", 0),
            start_at=datetime.fromisoformat(schedule["start_at"]).timestamp(),
            end_at=datetime.fromisoformat(schedule["end_at"]).timestamp(),
        )

    def has_variant(self, key: str) -> bool:
        return any(variant == key for variant, _weight in self.variants)

    def buttons_of(self, variant: str) -> frozenset[str]:
        return self.buttons.get(variant, frozenset())

    def converts_on(self, name: str, at: float) -> bool:
        """Whether a custom event `name` at `at` may be a conversion of this engagement: only an
        exposure in the engagement's window can credit it, at most `window` before."""
        return (
            self.conversion_event == name
            and self.start_at <= at <= self.end_at + self.window_seconds
        )


def event_increments(
    event_type: str, group: str, at: float, facts: EngagementFacts, element: str | None = None
) -> list[Increment]:
    """The per-event counts of an impression, click, dismissal or render error.

    A click counts for its element only when the element is a button of the engagement (a client
    cannot create counters at will), and for the metric the engagement maps that element to.
    """
    day = day_of(at)
    if event_type != "click":
        return [Increment(group, day, SIMPLE_COUNTS[event_type])]
    counted = [Increment(group, day, CLICKS)]
    if element in facts.elements:
        counted.append(Increment(group, day, ELEMENT_PREFIX + element))
        if element in facts.metrics:
            counted.append(Increment(group, day, METRIC_PREFIX + facts.metrics[element]))
    return counted


def moved(
    metric: str, before: tuple[float, str] | None, after: tuple[float, str]
) -> list[Increment]:
    """A once-only count whose (moment, group) went from `before` (None: not yet counted) to
    `after`: the increments that move it, none when the day and group stay the same."""
    target = Increment(after[1], day_of(after[0]), metric)
    if before is None:
        return [target]
    source = Increment(before[1], day_of(before[0]), metric, -1)
    if (source.group, source.day) == (target.group, target.day):
        return []
    return [source, target]


def reach(
    first: tuple[float, str] | None, at: float, group: str
) -> tuple[tuple[float, str] | None, list[Increment]]:
    """A device's impression at `at` in `group`, given the (moment, group) its reach was counted
    at: what to record instead (None: nothing changes) and the unique-devices increments. Only
    a move to another day or group is recorded; an earlier moment on the same day changes no
    count."""
    if first is not None and first[0] <= at:
        return None, []
    increments = moved(UNIQUE_DEVICES, first, (at, group))
    return ((at, group), increments) if increments else (None, [])
