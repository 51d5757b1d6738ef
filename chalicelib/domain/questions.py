"""Questions a message may ask, the answers they accept, and what the report says of them.

A question (validated by chalicelib/api/models.py, stored in the variant's message):
  {"type": "rating", "prompt", "submit_label"}                       an answer is 1 to 5
  {"type": "nps", "prompt", "submit_label"}                          0 to 10
  {"type": "choice", "prompt", "submit_label", "options": [{"id", "label"}], "multiple"}
                                                                     an option id, or with
                                                                     multiple a list of them
  {"type": "text", "prompt", "submit_label", "max_length"}           1 to max_length characters
Answers are `response` events; a subject's first counted answer per engagement is the one.

Counters (tally's daily counters of the variant): `responses`; `response#<value>` per rating or
NPS value and per chosen option id (the distribution); `response_sum` (for the mean).
"""

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.tally import Increment, day_of

RATING = range(1, 6)
NPS = range(0, 11)
MAX_TEXT = 500
RESPONSES = "responses"
RESPONSE_PREFIX = "response#"
RESPONSE_SUM = "response_sum"
PROMOTERS = range(9, 11)
DETRACTORS = range(0, 7)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def answer_problem(question: Mapping[str, Any], value: Any) -> str | None:
    """Why `value` cannot answer `question`, or None when it can."""
    kind = question["type"]
    if kind in ("rating", "nps"):
        allowed = RATING if kind == "rating" else NPS
        if not _whole(value) or value not in allowed:
            return f"a {kind} answer is a whole number from {allowed[0]} to {allowed[-1]}"
        return None
    if kind == "choice":
        ids = [option["id"] for option in question["options"]]
        if question.get("multiple"):
            if not isinstance(value, list) or not value:
                return f"a list of one or more option ids among {', '.join(ids)}"
            if len(set(value)) != len(value):
                return "an option is chosen once"
            chosen = value
        else:
            if not isinstance(value, str):
                return f"one option id among {', '.join(ids)}"
            chosen = [value]
        unknown = [item for item in chosen if item not in ids]
        if unknown:
            return f"unknown option {unknown[0]!r}: use one of {', '.join(ids)}"
        return None
    limit = question.get("max_length", MAX_TEXT)
    if not isinstance(value, str) or not value.strip():
        return "a text answer is a non-empty string"
    if len(value) > limit:
        return f"a text answer is at most {limit} characters, got {len(value)}"
    return None


def answer_increments(
    question: Mapping[str, Any], group: str, at: float, value: Any
) -> list[Increment]:
    """What one counted answer adds to the variant's counters on the answer's day."""
    day = day_of(at)
    counted = [Increment(group, day, RESPONSES)]
    kind = question["type"]
    if kind in ("rating", "nps"):
        counted += [
            Increment(group, day, RESPONSE_PREFIX + str(value)),
            Increment(group, day, RESPONSE_SUM, value),
        ]
    elif kind == "choice":
        chosen = value if isinstance(value, list) else [value]
        counted += [Increment(group, day, RESPONSE_PREFIX + option) for option in chosen]
    return counted


def report(
    question: Mapping[str, Any] | None, counts: Mapping[str, int], impressions: int
) -> dict[str, Any]:
    """A variant's answers: count, rate per impression, distribution, mean and NPS."""
    responses = counts.get(RESPONSES, 0)
    distribution = {
        name.removeprefix(RESPONSE_PREFIX): value
        for name, value in counts.items()
        if name.startswith(RESPONSE_PREFIX)
    }
    kind = question["type"] if question else None
    keys: list[str] = []
    if kind == "rating":
        keys = [str(value) for value in RATING]
    elif kind == "nps":
        keys = [str(value) for value in NPS]
    elif kind == "choice":
        keys = [option["id"] for option in question["options"]]
    ordered = {key: distribution.pop(key, 0) for key in keys}
    ordered.update(sorted(distribution.items()))  # answers to an earlier version of the question
    mean = None
    if kind in ("rating", "nps") and responses:
        mean = round(counts.get(RESPONSE_SUM, 0) / responses, 4)
    return {
        "question": kind,
        "responses": responses,
        "response_rate": responses / impressions if impressions else None,
        "distribution": ordered,
        "mean": mean,
        "nps": nps(ordered) if kind == "nps" else None,
    }


def nps(distribution: Mapping[str, int]) -> float | None:
    """Promoters (9-10) minus detractors (0-6), in points of the answers; None with none."""
    scored = {int(key): n for key, n in distribution.items() if key.isdigit() and int(key) in NPS}
    total = sum(scored.values())
    if not total:
        return None
    promoters = sum(n for value, n in scored.items() if value in PROMOTERS)
    detractors = sum(n for value, n in scored.items() if value in DETRACTORS)
    return round(100 * (promoters - detractors) / total, 1)
