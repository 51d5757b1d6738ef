"""The template language alone, against the case table the console's preview also passes."""

import json
from pathlib import Path

import pytest

from chalicelib.domain import templates

CASES = json.loads((Path(__file__).parents[1] / "cases" / "templates.json").read_text())


def values(given: dict) -> templates.Values:
    return templates.Values(
        user_id=given.get("user_id"),
        attributes=given.get("attributes", {}),
        event=given.get("event", {}),
    )


@pytest.mark.parametrize("case", CASES["render"], ids=lambda case: case["template"])
def test_rendering(case):
    rendered = templates.render(case["template"], values(case["values"]), case["limit"])
    assert rendered == case["expected"]


@pytest.mark.parametrize("case", CASES["invalid"], ids=lambda case: case["template"])
def test_invalid_templates(case):
    with pytest.raises(templates.TemplateError, match=None) as raised:
        templates.parse(case["template"])
    assert case["fragment"] in str(raised.value)


def test_a_long_value_is_cut_before_it_is_inserted():
    rendered = templates.render("{{ event.x }}", values({"event": {"x": "y" * 999}}), 1000)
    assert len(rendered) == templates.MAX_VALUE_CHARS and rendered.endswith("…")


def test_too_many_tags_is_an_error():
    with pytest.raises(templates.TemplateError, match="at most 20"):
        templates.parse("{{ user_id }}" * 21)
