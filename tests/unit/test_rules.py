"""The rule language alone: parsing errors name the path; evaluation follows the documented ops."""

import pytest

from chalicelib.domain import rules
from chalicelib.domain.rules import MISSING, RuleError, device_lookup, evaluate, parse_rule


def nested(depth: int) -> dict:
    rule = {"attribute": "platform", "op": "eq", "value": "ios"}
    for _ in range(depth):
        rule = {"all": [rule]}
    return rule


def test_a_valid_rule_round_trips():
    data = {
        "all": [
            {"attribute": "attributes.country", "op": "in", "value": ["FR", "BE"]},
            {"any": [{"attribute": "app_version", "op": "version_gte", "value": "2.3.0"}]},
            {"attribute": "user_id", "op": "exists"},
        ]
    }
    assert rules.to_json(parse_rule(data, "rules")) == data


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        (
            {"all": [{"attribute": "platform", "op": "like", "value": "x"}]},
            "rules.all[0].op",
            "unknown op",
        ),
        (
            {"all": [{"attribute": "platform", "op": "in", "value": "ios"}]},
            "rules.all[0].value",
            "list",
        ),
        (
            {"any": [{"attribute": "attributes.age", "op": "gt", "value": "18"}]},
            "rules.any[0].value",
            "number",
        ),
        (
            {"all": [{"attribute": "app_version", "op": "version_lt", "value": "two"}]},
            "rules.all[0].value",
            "version",
        ),
        (
            {"all": [{"attribute": "platform", "op": "exists", "value": 1}]},
            "rules.all[0].value",
            "no value",
        ),
        (
            {"all": [{"attribute": "colour", "op": "eq", "value": "red"}]},
            "rules.all[0].attribute",
            "unknown attribute",
        ),
        (
            {"all": [{"attribute": "platform", "op": "eq", "value": {"a": 1}}]},
            "rules.all[0].value",
            "string",
        ),
        ({"all": []}, "rules.all", "non-empty"),
        ({"all": [], "any": []}, "rules", "exactly one key"),
        ({"all": [{"any": [{"op": "eq"}]}]}, "rules.all[0].any[0].attribute", "required"),
        (
            {"all": [{"attribute": "platform", "op": "eq", "value": "ios", "x": 1}]},
            "rules.all[0]",
            "unknown field",
        ),
    ],
)
def test_invalid_rules_name_the_offending_path(data, path, fragment):
    with pytest.raises(RuleError) as raised:
        parse_rule(data, "rules")
    assert raised.value.path == path
    assert fragment in raised.value.problem


def test_nesting_is_limited_to_five_groups():
    parse_rule(nested(5), "rules")
    with pytest.raises(RuleError) as raised:
        parse_rule(nested(6), "rules")
    assert raised.value.path == "rules" + ".all[0]" * 5
    assert "5 groups" in raised.value.problem


def test_a_rule_holds_at_most_fifty_conditions():
    condition = {"attribute": "platform", "op": "eq", "value": "ios"}
    parse_rule({"any": [condition] * 50}, "rules")
    with pytest.raises(RuleError) as raised:
        parse_rule({"any": [condition] * 25 + [{"all": [condition] * 26}]}, "rules")
    assert raised.value.path == "rules.any[25].all[25]"


DEVICE = {
    "platform": "ios",
    "app_version": "2.10.1",
    "locale": "fr-FR",
    "attributes": {"country": "FR", "age": 31, "tags": ["vip", "beta"], "score": "7.5"},
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"attribute": "platform", "op": "eq", "value": "ios"}, True),
        ({"attribute": "platform", "op": "ne", "value": "ios"}, False),
        ({"attribute": "locale", "op": "in", "value": ["fr-FR", "fr-BE"]}, True),
        ({"attribute": "locale", "op": "not_in", "value": ["fr-FR"]}, False),
        ({"attribute": "attributes.age", "op": "gte", "value": 31}, True),
        ({"attribute": "attributes.age", "op": "gt", "value": 31}, False),
        ({"attribute": "attributes.score", "op": "lt", "value": 8}, True),
        ({"attribute": "attributes.tags", "op": "contains", "value": "vip"}, True),
        ({"attribute": "locale", "op": "contains", "value": "FR"}, True),
        ({"attribute": "app_version", "op": "version_gte", "value": "2.9"}, True),
        ({"attribute": "app_version", "op": "version_lt", "value": "2.10.1"}, False),
        ({"attribute": "attributes.country", "op": "exists"}, True),
        ({"attribute": "attributes.plan", "op": "not_exists"}, True),
        ({"attribute": "attributes.plan", "op": "eq", "value": "gold"}, False),
        ({"attribute": "attributes.plan", "op": "ne", "value": "gold"}, False),
    ],
)
def test_each_operator_evaluates_on_a_device(condition, expected):
    rule = parse_rule({"all": [condition]}, "rules")
    assert evaluate(rule, device_lookup(DEVICE)) is expected


def test_all_and_any_combine():
    rule = parse_rule(
        {
            "any": [
                {"attribute": "platform", "op": "eq", "value": "android"},
                {
                    "all": [
                        {"attribute": "attributes.country", "op": "eq", "value": "FR"},
                        {"attribute": "app_version", "op": "version_gte", "value": "2.3.0"},
                    ]
                },
            ]
        },
        "rules",
    )
    assert evaluate(rule, device_lookup(DEVICE))
    assert not evaluate(rule, device_lookup({**DEVICE, "app_version": "2.2.9"}))
    assert not evaluate(rule, lambda _attribute: MISSING)


def test_versions_compare_numerically_not_as_text():
    assert rules.parse_version("2.10") > rules.parse_version("2.9")
    assert rules.parse_version("3") == rules.parse_version("3.0.0")
    assert rules.parse_version("2.3.0-beta") == rules.parse_version("2.3")
    assert rules.parse_version("beta") is None


@pytest.mark.parametrize("op", [[], {}, None, 3])
def test_an_op_that_is_not_a_string_is_refused(op):
    with pytest.raises(RuleError) as raised:
        parse_rule({"all": [{"attribute": "platform", "op": op, "value": "ios"}]}, "rules")
    assert raised.value.path == "rules.all[0].op"
