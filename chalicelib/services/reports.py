"""The performance report of an engagement (SPEC §3): its daily counters summed per variant and
for the control group, rates, lifts and the significance of the goal metric.

The goal metric is the conversion rate (conversions / unique devices reached; for the control
group, conversions / subjects assigned) when the engagement has a conversion event, otherwise
the click-through rate (clicks / impressions). Each variant's p-value is a two-sided
two-proportion z-test of its goal metric against the control group when there is one and the
goal is conversions, otherwise against the first variant (whose own p_value and lift_vs_first are
null). `rejected` counts the events refused per reason (chalicelib/domain/integrity.py), which
no variant's figures include. `?from=` and `?to=` (UTC days, inclusive) bound the days summed;
unique devices are then the devices first reached in those days. A variant whose message asks a
question also reports its answers (chalicelib/domain/questions.py): responses, response_rate,
distribution, mean, nps.
"""

import re
from collections import Counter
from datetime import date, timedelta
from typing import Any

from chalicelib.adapters.dynamo import Engagements, EventCounts
from chalicelib.api import paging
from chalicelib.domain import integrity, questions, stats, tally
from chalicelib.errors import InvalidInput, NotFound

MAX_SERIES_DAYS = 366
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class ReportService:
    def __init__(self, engagements: Engagements, counts: EventCounts):
        self._engagements = engagements
        self._counts = counts

    def metrics(
        self,
        app_id: str,
        engagement_id: str,
        first: str | None = None,
        last: str | None = None,
        granularity: str | None = None,
    ) -> dict[str, Any]:
        """The report; the caller has checked the admin key."""
        first_day, last_day = _day(first, "from"), _day(last, "to")
        if first_day and last_day and first_day > last_day:
            raise InvalidInput("from: must not be after to")
        if granularity not in (None, "day"):
            raise InvalidInput("granularity: the only granularity is day")
        engagement = self._engagements.get(app_id, engagement_id)
        if engagement is None:
            raise NotFound(f"no engagement {engagement_id}")
        spec = engagement.spec
        days = self._counts.daily_counters(app_id, engagement_id, _iso(first_day), _iso(last_day))
        totals: dict[str, Counter] = {}
        for _day_text, group, counts in days:
            totals.setdefault(group, Counter()).update(counts)
        report = _report(spec, totals)
        report["rejected"] = _rejected(totals.get(integrity.REJECTED, Counter()))
        if granularity == "day":
            report["series"] = _series(spec, days, first_day, last_day)
        return {"engagement_id": engagement_id, **report}

    def responses(
        self, app_id: str, engagement_id: str, limit: str | None, cursor: str | None
    ) -> dict[str, Any]:
        """The text answers to the engagement's question, newest first; the caller has checked
        the admin key."""
        if self._engagements.get(app_id, engagement_id) is None:
            raise NotFound(f"no engagement {engagement_id}")
        answers, last = self._counts.answers(
            app_id,
            engagement_id,
            paging.parse_limit(limit),
            paging.decode_cursor(cursor, paging.ANSWER_CURSOR),
        )
        return {
            "engagement_id": engagement_id,
            "responses": [
                {
                    "variant": answer.variant,
                    "value": answer.text,
                    "at": answer.answered_at,
                    "subject": answer.subject,
                }
                for answer in answers
            ],
            "cursor": paging.encode_cursor(last),
        }


def _day(text: str | None, name: str) -> date | None:
    if text is None or text == "":
        return None
    try:
        if not _DAY.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name}: must be a date, YYYY-MM-DD (UTC)") from None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _report(spec: dict[str, Any], totals: dict[str, Counter]) -> dict[str, Any]:
    converts = bool(spec.get("conversion"))
    has_control = spec.get("control_percent", 0) > 0
    control = totals.get(tally.CONTROL, Counter())
    control_goal = (control[tally.CONVERSIONS], control[tally.ASSIGNED])
    against_control = converts and has_control
    variants = [
        _counts(variant, spec, totals.get(variant["key"], Counter()))
        for variant in spec["variants"]
    ]
    goals = [
        (v["conversions"], v["unique_devices"]) if converts else (v["clicks"], v["impressions"])
        for v in variants
    ]
    first_rate = stats.rate(*goals[0])
    control_rate = stats.rate(*control_goal)
    for index, (variant, goal) in enumerate(zip(variants, goals, strict=True)):
        rate = stats.rate(*goal)
        if against_control:
            p_value = stats.two_proportion_p_value(*goal, *control_goal)
        else:
            p_value = None if index == 0 else stats.two_proportion_p_value(*goal, *goals[0])
        variant.update(
            ctr=stats.rate(variant["clicks"], variant["impressions"]),
            conversion_rate=stats.rate(variant["conversions"], variant["unique_devices"]),
            lift_vs_control=stats.lift(rate, control_rate) if against_control else None,
            lift_vs_first=None if index == 0 else stats.lift(rate, first_rate),
            p_value=p_value,
            significant=stats.significant(p_value),
        )
    return {
        "goal": "conversion_rate" if converts else "ctr",
        "variants": variants,
        "control": (
            {
                "assigned": control[tally.ASSIGNED],
                "conversions": control[tally.CONVERSIONS],
                "conversion_rate": control_rate,
            }
            if has_control
            else None
        ),
    }


def _rejected(counts: Counter) -> dict[str, int]:
    """Refused events per reason (SPEC §7.3): every reason, 0 when none was refused for it."""
    return {reason: counts[integrity.REJECTED_PREFIX + reason] for reason in integrity.REASONS}


def _counts(variant: dict[str, Any], spec: dict[str, Any], counts: Counter) -> dict[str, Any]:
    """A variant's counts: every button of it and every metric mapped to one appear, with 0 when
    nothing was counted."""
    buttons = [button["id"] for button in variant["message"].get("buttons", [])]
    mapping = {m["element"]: m["metric"] for m in spec.get("metrics", [])}
    by_element = {element: 0 for element in buttons}
    by_metric = {mapping[element]: 0 for element in buttons if element in mapping}
    for name, value in counts.items():
        if name.startswith(tally.ELEMENT_PREFIX):
            by_element[name.removeprefix(tally.ELEMENT_PREFIX)] = value
        elif name.startswith(tally.METRIC_PREFIX):
            by_metric[name.removeprefix(tally.METRIC_PREFIX)] = value
    answers = {}
    question = variant["message"].get("question")
    if question or counts[questions.RESPONSES]:
        answers = questions.report(question, counts, counts[tally.IMPRESSIONS])
    return {
        "key": variant["key"],
        "impressions": counts[tally.IMPRESSIONS],
        "unique_devices": counts[tally.UNIQUE_DEVICES],
        "clicks": counts[tally.CLICKS],
        "clicks_by_element": by_element,
        "metrics": by_metric,
        "dismissals": counts[tally.DISMISSALS],
        "render_errors": counts[tally.RENDER_ERRORS],
        "conversions": counts[tally.CONVERSIONS],
        **answers,
    }


def _series(
    spec: dict[str, Any],
    days: list[tuple[str, str, dict[str, int]]],
    first_day: date | None,
    last_day: date | None,
) -> list[dict[str, Any]]:
    """One point per day from `from` (else the first day counted) to `to` (else the last)."""
    by_day: dict[str, dict[str, Counter]] = {}
    for day, group, counts in days:
        by_day.setdefault(day, {})[group] = Counter(counts)
    if not by_day and not (first_day and last_day):
        return []
    start = first_day or date.fromisoformat(min(by_day))
    end = last_day or date.fromisoformat(max(by_day))
    if (end - start).days >= MAX_SERIES_DAYS:
        raise InvalidInput(f"from, to: a daily series covers at most {MAX_SERIES_DAYS} days")
    has_control = spec.get("control_percent", 0) > 0
    points = []
    for offset in range((end - start).days + 1):
        day = (start + timedelta(days=offset)).isoformat()
        groups = by_day.get(day, {})
        control = groups.get(tally.CONTROL, Counter())
        points.append(
            {
                "date": day,
                "variants": [
                    _counts(variant, spec, groups.get(variant["key"], Counter()))
                    for variant in spec["variants"]
                ],
                "control": (
                    {
                        "assigned": control[tally.ASSIGNED],
                        "conversions": control[tally.CONVERSIONS],
                    }
                    if has_control
                    else None
                ),
            }
        )
    return points
