"""The report's statistics against values computed elsewhere (R's prop.test without continuity
correction gives the same p-values: its X-squared is z squared)."""

import math

import pytest

from chalicelib.domain import stats


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "expected"),
    [
        (30, 100, 20, 100, 0.10247),  # prop.test(c(30, 20), c(100, 100), correct=FALSE)
        (9, 97, 1, 20, 0.53320),  # the SPEC example's counts: X-squared 0.3883 on the 2x2 table
        (120, 1000, 90, 1000, 0.02865),  # X-squared 4.7885
        (500, 1000, 500, 1000, 1.0),
        (1, 2, 0, 2, 0.24821),
    ],
)
def test_two_proportion_p_values_match_known_values(x1, n1, x2, n2, expected):
    assert stats.two_proportion_p_value(x1, n1, x2, n2) == pytest.approx(expected, abs=5e-5)


def test_the_test_is_two_sided_and_symmetric():
    assert stats.two_proportion_p_value(30, 100, 20, 100) == pytest.approx(
        stats.two_proportion_p_value(20, 100, 30, 100)
    )


def test_a_z_of_1_96_is_the_5_percent_threshold():
    # x1/n1 - x2/n2 chosen so that z is exactly 1.959964 with pooled p = 0.5
    n = 10_000
    half_width = 1.959963984540054 * math.sqrt(0.25 * 2 / n)
    x1, x2 = n * (0.5 + half_width / 2), n * (0.5 - half_width / 2)
    assert stats.two_proportion_p_value(x1, n, x2, n) == pytest.approx(0.05, abs=1e-9)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(0, 0, 1, 10), (1, 10, 0, 0), (11, 10, 1, 10), (-1, 10, 1, 10)],
)
def test_no_p_value_without_two_samples_of_proportions(x1, n1, x2, n2):
    assert stats.two_proportion_p_value(x1, n1, x2, n2) is None


def test_identical_extreme_samples_show_no_difference():
    assert stats.two_proportion_p_value(0, 50, 0, 80) == 1.0
    assert stats.two_proportion_p_value(50, 50, 80, 80) == 1.0


def test_rates_and_lift():
    assert stats.rate(30, 120) == 0.25
    assert stats.rate(3, 0) is None
    assert stats.lift(0.075, 0.05) == pytest.approx(0.5)
    assert stats.lift(0.025, 0.05) == pytest.approx(-0.5)
    assert stats.lift(0.1, 0) is None
    assert stats.lift(None, 0.1) is None
    assert stats.lift(0.1, None) is None


def test_significance_is_a_p_value_under_5_percent():
    assert stats.significant(0.0499)
    assert not stats.significant(0.05)
    assert not stats.significant(None)
