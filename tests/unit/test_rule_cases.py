"""The shared table of trigger-condition cases (sdk/shared/rule-cases.json), on the server's
evaluation; the web SDK's tests run the same table on its own (sdk/web/test/rules.test.js)."""

import json
from pathlib import Path

import pytest

from chalicelib.domain import rules

TABLE = Path(__file__).resolve().parents[2] / "sdk" / "shared" / "rule-cases.json"
CASES = json.loads(TABLE.read_text(encoding="utf-8"))["cases"]


def test_the_table_covers_every_operator():
    used = {condition["op"] for case in CASES for condition in case["conditions"]}
    assert used == rules.OPS


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_server_agrees_with_the_table(case):
    conditions = rules.parse_conditions(case["conditions"], "conditions", rules.event_attribute)
    attributes = case["attributes"]
    holds = all(
        rules.holds(condition, attributes.get(condition.attribute, rules.MISSING))
        for condition in conditions
    )
    assert holds is case["holds"]
