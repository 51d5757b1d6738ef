// The shared table of answers to questions, on the SDK's check (the server runs the same table
// in tests/unit/test_answer_cases.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { answerProblem } from "../src/questions.js";

const table = JSON.parse(
  readFileSync(new URL("../../shared/answer-cases.json", import.meta.url), "utf8"),
);

for (const testCase of table.cases) {
  test(`answer case: ${testCase.name}`, () => {
    const problem = answerProblem(testCase.question, testCase.value);
    assert.equal(problem === null, testCase.ok, problem ?? "accepted");
  });
}
