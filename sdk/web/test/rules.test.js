// The shared table of trigger-condition cases, on the SDK's evaluation (the server runs the same
// table in tests/unit/test_rule_cases.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { conditionsHold, holds, MISSING } from "../src/rules.js";

const table = JSON.parse(
  readFileSync(new URL("../../shared/rule-cases.json", import.meta.url), "utf8"),
);

for (const testCase of table.cases) {
  test(`rule case: ${testCase.name}`, () => {
    assert.equal(conditionsHold(testCase.conditions, testCase.attributes), testCase.holds);
  });
}

test("an operator the SDK does not know never matches", () => {
  assert.equal(holds({ attribute: "a", op: "matches", value: "x" }, "x"), false);
  assert.equal(holds({ attribute: "a", op: "eq", value: "x" }, MISSING), false);
});
