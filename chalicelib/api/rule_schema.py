"""The JSON Schema of the rule language (chalicelib/domain/rules.py), built from its own
constants, so the OpenAPI document says what `parse_rule` and `parse_conditions` accept: every
operator with the value it takes, the attribute names, groups nested at most MAX_DEPTH deep.
(The total of MAX_CONDITIONS conditions across the groups of one rule is said in words.)"""

from typing import Any

from chalicelib.domain import rules

_NAME = r"^[A-Za-z0-9_.:-]{1,64}$"
_VERSION = r"^[0-9]{1,9}(\.[0-9]{1,9}){0,3}$"
_SCALAR = {
    "anyOf": [
        {"type": "string", "maxLength": rules.MAX_STRING},
        {"type": "number"},
        {"type": "boolean"},
    ]
}
_VALUES = {
    "type": "array",
    "minItems": 1,
    "maxItems": rules.MAX_LIST_VALUES,
    "items": _SCALAR,
}


def _closed(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _ops(names: frozenset[str] | set[str]) -> dict[str, Any]:
    return {"type": "string", "enum": sorted(names)}


def _attribute_conditions(attribute: dict[str, Any]) -> list[dict[str, Any]]:
    """One schema per operator family: the value each takes."""
    valued = [
        (rules.SCALAR_OPS | {"contains"}, _SCALAR),
        (rules.LIST_OPS, _VALUES),
        (rules.NUMBER_OPS, {"type": "number"}),
        (rules.VERSION_OPS, {"type": "string", "pattern": _VERSION}),
    ]
    found = [
        _closed(
            {"attribute": attribute, "op": _ops(rules.PRESENCE_OPS), "value": {"type": "null"}},
            ["attribute", "op"],
        )
    ]
    found += [
        _closed(
            {"attribute": attribute, "op": _ops(ops), "value": value}, ["attribute", "op", "value"]
        )
        for ops, value in valued
    ]
    return found


def _behavioural() -> list[dict[str, Any]]:
    event = {"type": "string", "pattern": _NAME}
    return [
        _closed(
            {
                "event": event,
                "op": _ops(rules.COUNT_OPS),
                "value": {"type": "integer", "minimum": 0, "maximum": rules.MAX_COUNT},
                "within_days": {"type": "integer", "minimum": 1, "maximum": rules.MAX_WITHIN_DAYS},
            },
            ["event", "op", "value", "within_days"],
        ),
        _closed(
            {
                "event": event,
                "op": _ops(rules.RECENCY_OPS),
                "value": {"type": "integer", "minimum": 1, "maximum": rules.MAX_RECENCY_DAYS},
            },
            ["event", "op", "value"],
        ),
        _closed(
            {"engagement": {"type": "string", "pattern": _NAME}, "op": _ops(rules.ENGAGEMENT_OPS)},
            ["engagement", "op"],
        ),
    ]


AUDIENCE_ATTRIBUTE = {
    "anyOf": [
        {"type": "string", "enum": sorted(rules.DEVICE_FIELDS)},
        {"type": "string", "pattern": r"^attributes\.[A-Za-z0-9_.:-]{1,64}$"},
    ]
}
EVENT_ATTRIBUTE = {"type": "string", "pattern": _NAME}


REF = "#/components/schemas/{}"


def _group(depth: int) -> dict[str, Any]:
    """A group at nesting level `depth` (1 is the rule itself): conditions and, above
    MAX_DEPTH, no further groups."""
    members = [{"$ref": REF.format("AudienceCondition")}]
    if depth < rules.MAX_DEPTH:
        members.append({"$ref": REF.format(f"RuleGroup{depth + 1}")})
    listed = {
        "type": "array",
        "minItems": 1,
        "maxItems": rules.MAX_CONDITIONS,
        "items": {"anyOf": members} if len(members) > 1 else members[0],
    }
    return {"anyOf": [_closed({mode: listed}, [mode]) for mode in ("all", "any")]}


def components() -> dict[str, Any]:
    """The schemas the rules refer to, for the document's components."""
    found = {
        "AudienceCondition": {
            "anyOf": [*_attribute_conditions(AUDIENCE_ATTRIBUTE), *_behavioural()]
        },
        "TriggerCondition": {"anyOf": _attribute_conditions(EVENT_ATTRIBUTE)},
    }
    found.update({f"RuleGroup{depth}": _group(depth) for depth in range(1, rules.MAX_DEPTH + 1)})
    return found


def audience_rule() -> dict[str, Any]:
    return {
        "allOf": [{"$ref": REF.format("RuleGroup1")}],  # a bare $ref takes no siblings in pydantic
        "description": (
            'A group {"all": [...]} or {"any": [...]} of conditions and groups, nested at most '
            f"{rules.MAX_DEPTH} deep, with at most {rules.MAX_CONDITIONS} conditions in all."
        ),
    }


def trigger_conditions() -> dict[str, Any]:
    return {
        "type": "array",
        "maxItems": rules.MAX_CONDITIONS,
        "items": {"$ref": REF.format("TriggerCondition")},
        "default": [],
        "description": "Conditions on the event's attributes that must all hold.",
    }
