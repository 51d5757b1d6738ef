"""The shared table of answers to questions (sdk/shared/answer-cases.json), on the server's
check; the web SDK's tests run the same table on its own (sdk/web/test/questions.test.js)."""

import json
from pathlib import Path

import pytest

from chalicelib.domain import questions

TABLE = Path(__file__).resolve().parents[2] / "sdk" / "shared" / "answer-cases.json"
CASES = json.loads(TABLE.read_text(encoding="utf-8"))["cases"]


def test_the_table_covers_every_question_type():
    used = {(case["question"]["type"], case["question"].get("multiple", False)) for case in CASES}
    assert used == {
        ("rating", False),
        ("nps", False),
        ("choice", False),
        ("choice", True),
        ("text", False),
    }


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_server_agrees_with_the_table(case):
    problem = questions.answer_problem(case["question"], case["value"])
    assert (problem is None) is case["ok"], problem
