"""The rule language of audiences and trigger conditions: parsing with named paths, evaluation.

A rule is a group `{"all": [...]}` / `{"any": [...]}` whose members are groups or conditions
`{"attribute": ..., "op": ..., "value": ...}`. Parsing checks every operator, the type of every
value for its operator, the nesting depth and the number of conditions, and names the JSON path of
the first problem (e.g. `rules.all[2].any[0].value`).

Audience rules (not trigger conditions) may also hold behavioural conditions over the subject's
profile (chalicelib/domain/profile.py), which the evaluation reads through a `Behaviour`:
  {"event": NAME, "op": "count_gte" | "count_lt", "value": n, "within_days": d}
  {"event": NAME, "op": "last_within_days" | "last_not_within_days", "value": d}
  {"engagement": ID, "op": "seen" | "not_seen" | "clicked" | "dismissed"}
"within d days" is the current UTC day and the d - 1 days before it.
"""

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

MAX_DEPTH = 5
MAX_CONDITIONS = 50
MAX_LIST_VALUES = 100
MAX_STRING = 256

DEVICE_FIELDS = frozenset(
    {"device_id", "user_id", "platform", "os_version", "app_version", "locale", "timezone"}
)
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_VERSION = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,9}){0,3}$")

SCALAR_OPS = frozenset({"eq", "ne"})
LIST_OPS = frozenset({"in", "not_in"})
NUMBER_OPS = frozenset({"gt", "gte", "lt", "lte"})
PRESENCE_OPS = frozenset({"exists", "not_exists"})
VERSION_OPS = frozenset({"version_gte", "version_lt"})
OPS = SCALAR_OPS | LIST_OPS | NUMBER_OPS | PRESENCE_OPS | VERSION_OPS | {"contains"}

COUNT_OPS = frozenset({"count_gte", "count_lt"})
RECENCY_OPS = frozenset({"last_within_days", "last_not_within_days"})
EVENT_OPS = COUNT_OPS | RECENCY_OPS
ENGAGEMENT_OPS = frozenset({"seen", "not_seen", "clicked", "dismissed"})
MAX_WITHIN_DAYS = 90  # the days of counts a profile keeps
MAX_RECENCY_DAYS = 365  # the last time of an event is kept whole
MAX_COUNT = 1_000_000


class RuleError(ValueError):
    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Condition:
    attribute: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class EventCondition:
    """A condition on how often or how lately the subject sent a custom event."""

    event: str
    op: str  # one of EVENT_OPS
    value: int  # a count (COUNT_OPS) or a number of days (RECENCY_OPS)
    within_days: int | None = None  # COUNT_OPS only


@dataclass(frozen=True)
class EngagementCondition:
    """A condition on what the subject did with an engagement's message."""

    engagement: str
    op: str  # one of ENGAGEMENT_OPS


Behavioural = EventCondition | EngagementCondition


@dataclass(frozen=True)
class Group:
    mode: str  # "all" or "any"
    members: tuple["Group | Condition | Behavioural", ...]


def audience_attribute(name: str) -> str | None:
    """Why `name` cannot be an audience attribute, or None when it can."""
    if name in DEVICE_FIELDS:
        return None
    if name.startswith("attributes.") and _NAME.match(name.removeprefix("attributes.")):
        return None
    return (
        f"unknown attribute {name!r}: use one of {', '.join(sorted(DEVICE_FIELDS))} "
        "or attributes.<name>"
    )


def event_attribute(name: str) -> str | None:
    """Why `name` cannot be an event attribute name, or None when it can."""
    if _NAME.match(name):
        return None
    return "must be 1-64 characters among letters, digits and _ . : -"


AttributeCheck = Callable[[str], str | None]


def parse_rule(data: Any, path: str, check_attribute: AttributeCheck = audience_attribute) -> Group:
    """Parse a whole audience rule: its top level must be a group."""
    if not isinstance(data, dict) or set(data) not in ({"all"}, {"any"}):
        raise RuleError(path, 'must be an object with exactly one key, "all" or "any"')
    counter = [0]
    return _parse_group(data, path, 1, counter, check_attribute)


def is_behavioural(rule: "Group | Condition | Behavioural") -> bool:
    """Whether the rule reads the subject's profile anywhere."""
    if isinstance(rule, Group):
        return any(is_behavioural(member) for member in rule.members)
    return isinstance(rule, (EventCondition, EngagementCondition))


def tracked_events(rule: "Group | Condition | Behavioural") -> set[str]:
    """The custom event names the rule counts."""
    if isinstance(rule, Group):
        return set().union(*(tracked_events(member) for member in rule.members))
    return {rule.event} if isinstance(rule, EventCondition) else set()


def parse_conditions(
    data: Any, path: str, check_attribute: AttributeCheck
) -> tuple[Condition, ...]:
    """Parse a flat list of conditions that must all hold (trigger conditions)."""
    if not isinstance(data, list):
        raise RuleError(path, "must be a list of conditions")
    if len(data) > MAX_CONDITIONS:
        raise RuleError(path, f"at most {MAX_CONDITIONS} conditions, got {len(data)}")
    return tuple(
        _parse_condition(item, f"{path}[{index}]", check_attribute)
        for index, item in enumerate(data)
    )


def _parse_group(
    data: dict, path: str, depth: int, counter: list[int], check_attribute: AttributeCheck
) -> Group:
    if depth > MAX_DEPTH:
        raise RuleError(path, f"rules nest at most {MAX_DEPTH} groups deep")
    ((mode, members),) = data.items()
    member_path = f"{path}.{mode}"
    if not isinstance(members, list) or not members:
        raise RuleError(member_path, "must be a non-empty list")
    parsed: list[Group | Condition] = []
    for index, member in enumerate(members):
        item_path = f"{member_path}[{index}]"
        if isinstance(member, dict) and set(member) in ({"all"}, {"any"}):
            parsed.append(_parse_group(member, item_path, depth + 1, counter, check_attribute))
            continue
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise RuleError(item_path, f"a rule holds at most {MAX_CONDITIONS} conditions")
        if isinstance(member, dict) and "event" in member:
            parsed.append(_parse_event_condition(member, item_path))
        elif isinstance(member, dict) and "engagement" in member:
            parsed.append(_parse_engagement_condition(member, item_path))
        else:
            parsed.append(_parse_condition(member, item_path, check_attribute))
    return Group(mode=mode, members=tuple(parsed))


def _is_count(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _parse_event_condition(data: dict, path: str) -> EventCondition:
    unknown = set(data) - {"event", "op", "value", "within_days"}
    if unknown:
        raise RuleError(path, f"unknown field(s) {', '.join(sorted(unknown))}")
    event = data["event"]
    if not isinstance(event, str) or not _NAME.match(event):
        raise RuleError(f"{path}.event", "a custom event name: 1-64 letters, digits and _ . : -")
    op = data.get("op")
    if not isinstance(op, str) or op not in EVENT_OPS:
        raise RuleError(
            f"{path}.op",
            f"unknown op {op!r} for an event: use one of {', '.join(sorted(EVENT_OPS))}",
        )
    value = data.get("value")
    if op in COUNT_OPS:
        if not _is_count(value, 0, MAX_COUNT):
            raise RuleError(f"{path}.value", f"{op} needs a whole number from 0 to {MAX_COUNT}")
        within = data.get("within_days")
        if not _is_count(within, 1, MAX_WITHIN_DAYS):
            raise RuleError(
                f"{path}.within_days",
                f"{op} needs a whole number of days from 1 to {MAX_WITHIN_DAYS}",
            )
        return EventCondition(event, op, value, within)
    if "within_days" in data:
        raise RuleError(f"{path}.within_days", f"{op} takes its days in value")
    if not _is_count(value, 1, MAX_RECENCY_DAYS):
        raise RuleError(
            f"{path}.value", f"{op} needs a whole number of days from 1 to {MAX_RECENCY_DAYS}"
        )
    return EventCondition(event, op, value)


def _parse_engagement_condition(data: dict, path: str) -> EngagementCondition:
    unknown = set(data) - {"engagement", "op"}
    if unknown:
        raise RuleError(path, f"unknown field(s) {', '.join(sorted(unknown))}")
    engagement = data["engagement"]
    if not isinstance(engagement, str) or not re.match(r"^[A-Za-z0-9_.:-]{1,64}$", engagement):
        raise RuleError(f"{path}.engagement", "an engagement id")
    op = data.get("op")
    if not isinstance(op, str) or op not in ENGAGEMENT_OPS:
        raise RuleError(
            f"{path}.op",
            f"unknown op {op!r} for an engagement: use one of {', '.join(sorted(ENGAGEMENT_OPS))}",
        )
    return EngagementCondition(engagement, op)


def _parse_condition(data: Any, path: str, check_attribute: AttributeCheck) -> Condition:
    if not isinstance(data, dict):
        raise RuleError(path, 'must be a group ("all"/"any") or a condition object')
    unknown = set(data) - {"attribute", "op", "value"}
    if unknown:
        raise RuleError(path, f"unknown field(s) {', '.join(sorted(unknown))}")
    attribute = data.get("attribute")
    if not isinstance(attribute, str):
        raise RuleError(f"{path}.attribute", "required, a string")
    problem = check_attribute(attribute)
    if problem:
        raise RuleError(f"{path}.attribute", problem)
    op = data.get("op")
    if not isinstance(op, str) or op not in OPS:
        raise RuleError(f"{path}.op", f"unknown op {op!r}: use one of {', '.join(sorted(OPS))}")
    value = data.get("value")
    problem = _value_problem(op, value, "value" in data)
    if problem:
        raise RuleError(f"{path}.value", problem)
    return Condition(attribute=attribute, op=op, value=tuple(value) if op in LIST_OPS else value)


def _is_scalar(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_STRING
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (bool, int))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and _is_scalar(value)


def _value_problem(op: str, value: Any, present: bool) -> str | None:
    if op in PRESENCE_OPS:
        return f"{op} takes no value" if present and value is not None else None
    if op in SCALAR_OPS:
        return None if _is_scalar(value) else f"{op} needs a string, number or boolean"
    if op in LIST_OPS:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST_VALUES:
            return f"{op} needs a list of 1 to {MAX_LIST_VALUES} values"
        if not all(_is_scalar(item) for item in value):
            return f"{op} values must be strings, numbers or booleans"
        return None
    if op in NUMBER_OPS:
        return None if _is_number(value) else f"{op} needs a number"
    if op in VERSION_OPS:
        if isinstance(value, str) and _VERSION.match(value):
            return None
        return f"{op} needs a version string such as '2.3.0'"
    # contains
    return None if _is_scalar(value) else "contains needs a string, number or boolean"


MISSING = object()


class Behaviour(Protocol):
    """What behavioural conditions read: a subject's profile, as of one moment."""

    def count(self, event: str, within_days: int) -> int:
        """Times `event` was sent in the current UTC day and the `within_days - 1` before."""

    def last(self, event: str) -> float | None:
        """Epoch seconds of the latest `event`, None when never (or no longer tracked)."""

    def window_start(self, days: int) -> float:
        """Epoch seconds where "within `days` days" begins: midnight UTC, `days - 1` days ago."""

    def engagement(self, engagement_id: str) -> Mapping[str, float]:
        """When the subject first saw ("seen"), clicked, dismissed that engagement's message."""


class _NoBehaviour:
    """For rules evaluated where no profile applies: nothing was ever sent or seen."""

    def count(self, event: str, within_days: int) -> int:
        return 0

    def last(self, event: str) -> float | None:
        return None

    def window_start(self, days: int) -> float:
        return 0.0

    def engagement(self, engagement_id: str) -> Mapping[str, float]:
        return {}


NO_BEHAVIOUR: Behaviour = _NoBehaviour()
Rule = Group | Condition | Behavioural


def evaluate(rule: Rule, lookup: Callable[[str], Any], behaviour: Behaviour = NO_BEHAVIOUR) -> bool:
    """Whether the rule holds; `lookup(attribute)` returns MISSING for an absent attribute.

    An absent attribute satisfies only `not_exists`.
    """
    if isinstance(rule, Group):
        results = (evaluate(member, lookup, behaviour) for member in rule.members)
        return all(results) if rule.mode == "all" else any(results)
    if isinstance(rule, EventCondition):
        return _event_holds(rule, behaviour)
    if isinstance(rule, EngagementCondition):
        return _engagement_holds(rule, behaviour)
    return holds(rule, lookup(rule.attribute))


def _event_holds(condition: EventCondition, behaviour: Behaviour) -> bool:
    if condition.op in COUNT_OPS:
        count = behaviour.count(condition.event, condition.within_days)
        return count >= condition.value if condition.op == "count_gte" else count < condition.value
    last = behaviour.last(condition.event)
    recent = last is not None and last >= behaviour.window_start(condition.value)
    return recent if condition.op == "last_within_days" else not recent


def _engagement_holds(condition: EngagementCondition, behaviour: Behaviour) -> bool:
    did = behaviour.engagement(condition.engagement)
    if condition.op == "not_seen":
        return "seen" not in did
    return condition.op in did


def failures(
    rule: Rule, lookup: Callable[[str], Any], behaviour: Behaviour = NO_BEHAVIOUR
) -> list[dict[str, Any]]:
    """The conditions that make the rule fail, each with its numbers and a sentence: in an `all`
    group the members that fail, in an `any` group all of them. [] when the rule holds."""
    if isinstance(rule, Group):
        if evaluate(rule, lookup, behaviour):
            return []
        return [
            failure for member in rule.members for failure in failures(member, lookup, behaviour)
        ]
    if evaluate(rule, lookup, behaviour):
        return []
    return [_failure(rule, lookup, behaviour)]


def _failure(rule: Condition | Behavioural, lookup, behaviour: Behaviour) -> dict[str, Any]:
    if isinstance(rule, EventCondition):
        if rule.op in COUNT_OPS:
            count = behaviour.count(rule.event, rule.within_days)
            sign = "≥" if rule.op == "count_gte" else "<"
            return {
                "condition": to_json(rule),
                "count": count,
                "message": f"{rule.event}: {count} in the last {rule.within_days} days, "
                f"needs {sign} {rule.value}",
            }
        last = behaviour.last(rule.event)
        when = "never" if last is None else f"last at {_iso(last)}"
        wanted = "within" if rule.op == "last_within_days" else "none in"
        return {
            "condition": to_json(rule),
            "last_at": None if last is None else _iso(last),
            "message": f"{rule.event}: {when}, needs {wanted} the last {rule.value} days "
            f"(since {_iso(behaviour.window_start(rule.value))})",
        }
    if isinstance(rule, EngagementCondition):
        did = behaviour.engagement(rule.engagement)
        actual = ", ".join(sorted(did)) or "not seen"
        wanted = rule.op.replace("_", " ")
        return {
            "condition": to_json(rule),
            "did": sorted(did),
            "message": f"{rule.engagement}: {actual}, needs {wanted}",
        }
    actual = lookup(rule.attribute)
    shown = "missing" if actual is MISSING or actual is None else repr(actual)
    wanted = rule.op if rule.op in PRESENCE_OPS else f"{rule.op} {rule.value!r}"
    return {"condition": to_json(rule), "message": f"{rule.attribute}: {shown}, needs {wanted}"}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def holds(condition: Condition, actual: Any) -> bool:
    op, expected = condition.op, condition.value
    if actual is MISSING or actual is None:
        return op == "not_exists"
    if op == "exists":
        return True
    if op == "not_exists":
        return False
    if op == "eq":
        return _same(actual, expected)
    if op == "ne":
        return not _same(actual, expected)
    if op == "in":
        return any(_same(actual, item) for item in expected)
    if op == "not_in":
        return not any(_same(actual, item) for item in expected)
    if op == "contains":
        if isinstance(actual, (list, tuple)):
            return any(_same(item, expected) for item in actual)
        return isinstance(actual, str) and str(expected) in actual
    if op in NUMBER_OPS:
        number = _as_number(actual)
        if number is None:
            return False
        return {
            "gt": number > expected,
            "gte": number >= expected,
            "lt": number < expected,
            "lte": number <= expected,
        }[op]
    version = parse_version(actual)
    if version is None:
        return False
    wanted = parse_version(expected)
    return version >= wanted if op == "version_gte" else version < wanted


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    if _is_number(expected):
        number = _as_number(actual)
        return number is not None and number == expected
    return actual == expected


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def parse_version(value: Any) -> tuple[int, ...] | None:
    """'2.3' -> (2, 3, 0, 0); anything else -> None. Trailing labels ('2.3.0-beta') are ignored."""
    if not isinstance(value, str):
        return None
    core = re.match(r"^[0-9]{1,9}(\.[0-9]{1,9}){0,3}", value.strip())
    if not core:
        return None
    parts = [int(part) for part in core.group(0).split(".")]
    return tuple(parts + [0] * (4 - len(parts)))


def to_json(rule: Rule) -> dict:
    if isinstance(rule, Group):
        return {rule.mode: [to_json(member) for member in rule.members]}
    if isinstance(rule, EventCondition):
        body = {"event": rule.event, "op": rule.op, "value": rule.value}
        return body if rule.within_days is None else {**body, "within_days": rule.within_days}
    if isinstance(rule, EngagementCondition):
        return {"engagement": rule.engagement, "op": rule.op}
    body: dict[str, Any] = {"attribute": rule.attribute, "op": rule.op}
    if rule.op not in PRESENCE_OPS:
        body["value"] = list(rule.value) if rule.op in LIST_OPS else rule.value
    return body


def device_lookup(device: Mapping[str, Any]) -> Callable[[str], Any]:
    """Look up an audience attribute on a device record (`attributes.x` reads custom attributes)."""

    def lookup(attribute: str) -> Any:
        if attribute.startswith("attributes."):
            return (device.get("attributes") or {}).get(
                attribute.removeprefix("attributes."), MISSING
            )
        return device.get(attribute, MISSING)

    return lookup
