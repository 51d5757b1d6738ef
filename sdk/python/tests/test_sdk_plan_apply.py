"""`herald plan` / `herald apply` golden cases against a real local Herald: create, change,
no change, frozen-field refusal, stale version; and the file's mistakes named by line.

The expected outputs are in golden/*.txt; `UPDATE_GOLDEN=1` rewrites them from the real output.
"""

import os
from pathlib import Path

import pytest
from herald_sdk import declarative

GOLDEN = Path(__file__).parent / "golden"
BASE = (GOLDEN / "base.yaml").read_text()


def matches_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.fixture
def run(herald_cli, shop, tmp_path):
    """`herald ...` with this shop's admin key, on a YAML text written to a file."""

    def run_on(text: str, *args: str, input: str | None = None):
        file = tmp_path / "engagements.yaml"
        file.write_text(text)
        return herald_cli(
            "--url",
            shop.url,
            "--admin-key",
            shop.created.admin_key,
            *args,
            "-f",
            str(file),
            input=input,
        )

    return run_on


def test_create_then_no_change_is_idempotent(run, shop):
    planned = run(BASE, "plan")
    assert planned.exit_code == 0, planned.stderr
    matches_golden("create.plan.txt", planned.stdout)
    assert list(shop.admin.iter_engagements()) == []  # plan writes nothing

    applied = run(BASE, "apply", "--yes")
    assert applied.exit_code == 0, applied.stderr
    sale = shop.admin.find_engagement("Spring sale")
    [audience] = shop.admin.iter_audiences()
    assert sale.audience["audience_ids"] == [audience.audience_id]
    assert (sale.status, sale.control_percent, sale.conversion["window_hours"]) == (
        "active",
        10,
        24,
    )
    assert shop.admin.find_engagement("Autumn teaser").status == "scheduled"

    again = run(BASE, "apply", "--yes")
    assert again.exit_code == 0, again.stderr
    matches_golden("unchanged.plan.txt", again.stdout)
    assert shop.admin.find_engagement("Spring sale").version == sale.version


def test_change_shows_a_field_level_diff_and_asks_first(run, shop):
    assert run(BASE, "apply", "--yes").exit_code == 0
    changed = (
        BASE.replace("title: Your spring treat", "title: Your spring gift")
        .replace("conversion: {event: purchase}", "conversion: {event: purchase, window_hours: 48}")
        .replace("value: ios}", "value: ios}\n        - {attribute: locale, op: eq, value: fr-FR}")
        .replace("body: Autumn is coming}", "body: Autumn is here}\n    priority: 8")
    )
    before = {e.name: e.version for e in shop.admin.iter_engagements()}

    declined = run(changed, "apply", input="n\n")
    assert declined.exit_code == 1
    assert "nothing applied" in declined.stderr
    assert {e.name: e.version for e in shop.admin.iter_engagements()} == before

    planned = run(changed, "plan")
    matches_golden("change.plan.txt", planned.stdout)
    applied = run(changed, "apply", input="y\n")
    assert applied.exit_code == 0, applied.stderr
    sale = shop.admin.find_engagement("Spring sale")
    assert sale.variants[1]["message"]["title"] == "Your spring gift"
    assert sale.conversion == {"event": "purchase", "window_hours": 48}
    assert shop.admin.find_engagement("Autumn teaser").priority == 8
    assert run(changed, "plan").stdout.count("= no change") == 3


def test_frozen_fields_of_a_live_test_are_refused_before_any_write(run, shop):
    assert run(BASE, "apply", "--yes").exit_code == 0
    sale = shop.admin.find_engagement("Spring sale")
    teaser = shop.admin.find_engagement("Autumn teaser")
    reweighted = (
        BASE.replace("weight: 50", "weight: 70", 1)
        .replace("weight: 50", "weight: 30", 1)
        .replace("control_percent: 10", "control_percent: 20")
        .replace("body: Autumn is coming", "body: Autumn is here")
    )

    refused = run(reweighted, "apply", "--yes")
    assert refused.exit_code == 1
    matches_golden("frozen.plan.txt", refused.stdout)
    assert "nothing applied" in refused.stderr
    assert shop.admin.get_engagement(sale.engagement_id).version == sale.version
    # The other item's change was not applied either: a refused plan writes nothing.
    assert shop.admin.get_engagement(teaser.engagement_id).version == teaser.version

    # Before it has run (scheduled), the same kind of change is allowed.
    split = BASE.replace(
        "body: Autumn is coming}",
        "body: Autumn}\n      - key: B\n        message: {layout: banner_top, body: Fall}",
    )
    split = split.replace(
        "  - name: Autumn teaser\n", "  - name: Autumn teaser\n    ab_test: true\n"
    )
    split = split.replace(
        "      - key: A\n        message: {layout: banner_top",
        "      - key: A\n        weight: 50\n        message: {layout: banner_top",
    )
    split = split.replace(
        "      - key: B\n        message: {layout: banner_top, body: Fall}",
        "      - key: B\n        weight: 50\n        message: {layout: banner_top, body: Fall}",
    )
    allowed = run(split, "apply", "--yes")
    assert allowed.exit_code == 0, allowed.stdout + allowed.stderr
    assert [v["key"] for v in shop.admin.find_engagement("Autumn teaser").variants] == ["A", "B"]


def test_an_edit_made_between_plan_and_apply_is_reported_not_overwritten(shop):
    declarative.apply_plan(shop.admin, declarative.make_plan(shop.admin, "base.yaml", BASE))
    changed = BASE.replace("title: Your spring treat", "title: From the file")
    plan = declarative.make_plan(shop.admin, "changed.yaml", changed)
    sale = shop.admin.find_engagement("Spring sale")
    shop.admin.update_engagement(sale.engagement_id, {"priority": 9})  # someone else, meanwhile

    [outcome] = declarative.apply_plan(shop.admin, plan)

    assert not outcome.ok
    assert f"since the plan read version {sale.version}" in outcome.message
    assert "not overwritten" in outcome.message
    now = shop.admin.get_engagement(sale.engagement_id)
    assert (now.priority, now.variants[1]["message"]["title"]) == (9, "Your spring treat")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "engagements:\n  - name: X\n    colour: red\n",
            "engagements.yaml:3: unknown field 'colour'",
        ),
        ("engagements:\n  - name: X\n    variants: [\n", "engagements.yaml:4:1: expected the node"),
        ("widgets: []\n", "engagements.yaml:1: unknown field 'widgets'"),
        (
            BASE.replace("    conversion: {event: purchase}", "    priority: high"),
            "engagements.yaml:26: priority: 'high' is not of type 'integer'",
        ),
        (
            BASE.replace("layout: modal, title", "layout: modal, colour: red, title"),
            "engagements.yaml:20: variants[1].message: Additional properties are not allowed",
        ),
        (
            BASE.replace("start_at: 2026-01-01T00:00:00Z", "start_at: 2026-01-01T00:00:00"),
            "engagements.yaml:24: schedule.start_at: must be a date and time with its offset",
        ),
        (
            BASE.replace("audiences: [iPhone users]", "audiences: [Nobody]"),
            "engagements.yaml:22: no audience named 'Nobody'",
        ),
        (BASE + "  - name: spring SALE\n", "engagements.yaml:34: 'spring SALE' is declared twice"),
        ("- just a list\n", "the file must be a mapping"),
    ],
)
def test_mistakes_in_the_file_are_named_with_their_line(run, shop, text, message):
    result = run(text, "plan")
    assert result.exit_code in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert list(shop.admin.iter_engagements()) == []
