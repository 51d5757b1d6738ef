"""The verdict in plain words, for each kind of report Herald gives."""

from herald_sdk.models import Metrics
from herald_sdk.verdict import verdict


def report(goal="ctr", control=None, **variants):
    rows = []
    for key, (impressions, clicks, rate, lift, p, significant) in variants.items():
        rows.append(
            {
                "key": key,
                "impressions": impressions,
                "clicks": clicks,
                "unique_devices": impressions,
                "conversions": clicks,
                "ctr": rate,
                "conversion_rate": rate,
                "lift_vs_first": lift,
                "lift_vs_control": lift,
                "p_value": p,
                "significant": significant,
            }
        )
    return Metrics.model_validate(
        {"engagement_id": "e", "goal": goal, "variants": rows, "control": control}
    )


def test_no_data_one_variant_and_no_difference_yet():
    assert verdict(report(A=(0, 0, None, None, None, False))) == (
        "No data yet: no impression has been counted."
    )
    assert verdict(report(A=(10, 1, 0.1, None, None, False))) == (
        "One variant and nothing to compare it with: its click-through rate is 10.0%."
    )
    assert verdict(
        report(A=(100, 5, 0.05, None, None, False), B=(100, 7, 0.07, 0.4, 0.55, False))
    ) == (
        "No significant difference yet: B's click-through rate is 7.0% against 5.0% for "
        "variant A (+40.0%, p = 0.5500). Keep the test running to collect more data."
    )


def test_a_winner_against_the_first_variant_and_against_the_control_group():
    assert verdict(
        report(A=(100, 2, 0.02, None, None, False), B=(100, 30, 0.3, 14.0, 0.00001, True))
    ) == (
        "B wins: its click-through rate is 30.0% against 2.0% for variant A "
        "(+1400.0%, p < 0.0001). The difference is significant at the 95% level."
    )
    control = {"assigned": 80, "conversions": 0, "conversion_rate": 0.0}
    assert verdict(
        report(
            "conversion_rate",
            control,
            A=(150, 5, 0.033, None, 0.1, False),
            B=(150, 35, 0.232, None, 0.00002, True),
        )
    ) == (
        "B wins: its conversion rate is 23.2% against 0.0% for the control group "
        "(p < 0.0001). The difference is significant at the 95% level."
    )


def test_a_significantly_worse_variant():
    assert verdict(
        report(A=(200, 40, 0.2, None, None, False), B=(200, 10, 0.05, -0.75, 0.0002, True))
    ) == (
        "Variant A wins: B's click-through rate is 5.0% against 20.0% (-75.0%, p = 0.0002), "
        "a significant difference at the 95% level."
    )
