"""Herald's trigger as Pinpoint's event filter, which Amplify evaluates on the device.

Amplify matches a campaign when the event's name is in `EventType.Values`, each `Attributes`
entry's `Values` holds the event's attribute (exact string match), and each `Metrics` entry
compares the event's metric with EQUAL, GREATER_THAN(_OR_EQUAL) or LESS_THAN(_OR_EQUAL). So:
- `eq` a string and `in` a list of strings become `Attributes`;
- `eq`, `gt`, `gte`, `lt`, `lte` a non-zero number become `Metrics` (Amplify treats a metric
  value of 0 as "no value" and never matches it);
- anything else (`ne`, `not_in`, `contains`, `exists`, `not_exists`, version comparisons,
  booleans, mixed lists, two conditions on one attribute) cannot be said: the engagement is
  left out of GetInAppMessages, and explain gives `trigger_unsupported` with the condition.
"""

from typing import Any

from chalicelib.domain import rules
from chalicelib.domain.eligibility import OnAnyEvent

DIALECT = "pinpoint"
METRIC_OPERATORS = {
    "eq": "EQUAL",
    "gt": "GREATER_THAN",
    "gte": "GREATER_THAN_OR_EQUAL",
    "lt": "LESS_THAN",
    "lte": "LESS_THAN_OR_EQUAL",
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _dimension(condition: rules.Condition) -> tuple[str, dict] | None:
    """("Attributes" | "Metrics", its entry) for a condition Pinpoint can carry, else None."""
    op, value = condition.op, condition.value
    if op == "eq" and isinstance(value, str):
        return "Attributes", {"AttributeType": "INCLUSIVE", "Values": [value]}
    if op == "in" and all(isinstance(item, str) for item in value):
        return "Attributes", {"AttributeType": "INCLUSIVE", "Values": list(value)}
    if op in METRIC_OPERATORS and _is_number(value) and value != 0:
        return "Metrics", {"ComparisonOperator": METRIC_OPERATORS[op], "Value": float(value)}
    return None


def unsupported(conditions: tuple[rules.Condition, ...]) -> dict[str, Any] | None:
    """Why Pinpoint's event filter cannot carry these conditions (explain's detail), or None."""
    seen: set[str] = set()
    for condition in conditions:
        if condition.attribute in seen:
            return {
                "condition": rules.to_json(condition),
                "why": "Pinpoint's event filter holds one condition per attribute",
            }
        seen.add(condition.attribute)
        if _dimension(condition) is None:
            return {
                "condition": rules.to_json(condition),
                "why": "Pinpoint's event filter has only equality with strings and "
                "comparisons with non-zero numbers",
            }
    return None


ON_ANY_EVENT = OnAnyEvent(DIALECT, unsupported)


def event_filter(event: str, conditions: tuple[rules.Condition, ...]) -> dict:
    """`Schedule.EventFilter` for a trigger that `unsupported` accepts."""
    dimensions: dict[str, Any] = {"EventType": {"DimensionType": "INCLUSIVE", "Values": [event]}}
    for condition in conditions:
        kind, entry = _dimension(condition)
        dimensions.setdefault(kind, {})[condition.attribute] = entry
    return {"FilterType": "ENDPOINT", "Dimensions": dimensions}
