"""A metrics report in plain words: who wins, by how much, and whether to trust it yet."""

from herald_sdk.models import Metrics, VariantMetrics

GOALS = {"conversion_rate": "conversion rate", "ctr": "click-through rate"}


def goal_rate(metrics: Metrics, variant: VariantMetrics) -> float | None:
    return variant.conversion_rate if metrics.goal == "conversion_rate" else variant.ctr


def against_control(metrics: Metrics) -> bool:
    return metrics.goal == "conversion_rate" and metrics.control is not None


def lift(metrics: Metrics, variant: VariantMetrics) -> float | None:
    return variant.lift_vs_control if against_control(metrics) else variant.lift_vs_first


def percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a" if signed else "-"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"


def p_text(value: float | None) -> str:
    if value is None:
        return "-"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def p_phrase(value: float | None) -> str:
    text = p_text(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _in_brackets(change: float | None, p_value: float | None) -> str:
    """ "(+35.0%, p = 0.0123)", or "(p = 0.0123)" when the lift is unknown (baseline 0)."""
    parts = [percent(change, signed=True)] if change is not None else []
    return "(" + ", ".join([*parts, p_phrase(p_value)]) + ")"


def verdict(metrics: Metrics) -> str:
    goal = GOALS.get(metrics.goal, metrics.goal)
    variants = metrics.variants
    if not any(v.impressions for v in variants):
        return "No data yet: no impression has been counted."
    if against_control(metrics):
        baseline_name = "the control group"
        baseline_rate = metrics.control.conversion_rate
        compared = variants
    else:
        if len(variants) < 2:
            rate = percent(goal_rate(metrics, variants[0]))
            return f"One variant and nothing to compare it with: its {goal} is {rate}."
        baseline_name = f"variant {variants[0].key}"
        baseline_rate = goal_rate(metrics, variants[0])
        compared = variants[1:]

    def better(v: VariantMetrics) -> bool:  # lift is unknown when the baseline rate is 0
        return (goal_rate(metrics, v) or 0) > (baseline_rate or 0)

    winners = [v for v in compared if v.significant and better(v)]
    losers = [v for v in compared if v.significant and not better(v)]
    if winners:
        best = max(winners, key=lambda v: goal_rate(metrics, v) or 0)
        return (
            f"{best.key} wins: its {goal} is {percent(goal_rate(metrics, best))} against "
            f"{percent(baseline_rate)} for {baseline_name} "
            f"{_in_brackets(lift(metrics, best), best.p_value)}. "
            "The difference is significant at the 95% level."
        )
    if losers and len(losers) == len(compared):
        worst = min(losers, key=lambda v: goal_rate(metrics, v) or 0)
        return (
            f"{baseline_name[0].upper()}{baseline_name[1:]} wins: {worst.key}'s {goal} is "
            f"{percent(goal_rate(metrics, worst))} against {percent(baseline_rate)} "
            f"{_in_brackets(lift(metrics, worst), worst.p_value)}, "
            "a significant difference at the 95% level."
        )
    best = max(compared, key=lambda v: goal_rate(metrics, v) or 0)
    return (
        f"No significant difference yet: {best.key}'s {goal} is "
        f"{percent(goal_rate(metrics, best))} against {percent(baseline_rate)} for "
        f"{baseline_name} {_in_brackets(lift(metrics, best), best.p_value)}. "
        "Keep the test running to collect more data."
    )
