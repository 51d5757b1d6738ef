"""The rule language of audiences and trigger conditions: parsing with named paths, evaluation.

A rule is a group `{"all": [...]}` / `{"any": [...]}` whose members are groups or conditions
`{"attribute": ..., "op": ..., "value": ...}`. Parsing checks every operator, the type of every
value for its operator, the nesting depth and the number of conditions, and names the JSON path of
the first problem (e.g. `rules.all[2].any[0].value`).
"""

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 5
MAX_CONDITIONS = 50
MAX_LIST_VALUES = 100
MAX_STRING = 256

DEVICE_FIELDS = frozenset(
    {"device_id", "user_id", "platform", "os_version", "app_version", "locale", "timezone"}
)
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_VERSION = re.compile(r"^\d{1,9}(\.\d{1,9}){0,3}$")

SCALAR_OPS = frozenset({"eq", "ne"})
LIST_OPS = frozenset({"in", "not_in"})
NUMBER_OPS = frozenset({"gt", "gte", "lt", "lte"})
PRESENCE_OPS = frozenset({"exists", "not_exists"})
VERSION_OPS = frozenset({"version_gte", "version_lt"})
OPS = SCALAR_OPS | LIST_OPS | NUMBER_OPS | PRESENCE_OPS | VERSION_OPS | {"contains"}


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
class Group:
    mode: str  # "all" or "any"
    members: tuple["Group | Condition", ...]


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
        parsed.append(_parse_condition(member, item_path, check_attribute))
    return Group(mode=mode, members=tuple(parsed))


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


def evaluate(rule: Group | Condition, lookup: Callable[[str], Any]) -> bool:
    """Whether the rule holds; `lookup(attribute)` returns MISSING for an absent attribute.

    An absent attribute satisfies only `not_exists`.
    """
    if isinstance(rule, Group):
        results = (evaluate(member, lookup) for member in rule.members)
        return all(results) if rule.mode == "all" else any(results)
    return holds(rule, lookup(rule.attribute))


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
    core = re.match(r"^\d{1,9}(\.\d{1,9}){0,3}", value.strip())
    if not core:
        return None
    parts = [int(part) for part in core.group(0).split(".")]
    return tuple(parts + [0] * (4 - len(parts)))


def to_json(rule: Group | Condition) -> dict:
    if isinstance(rule, Group):
        return {rule.mode: [to_json(member) for member in rule.members]}
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
