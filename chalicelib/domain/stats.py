"""Rates, lift and the two-sided two-proportion z-test of the metrics report (math only).

The z-test pools the two samples under the null hypothesis that both proportions are equal:
p = (x1 + x2) / (n1 + n2), z = (x1/n1 - x2/n2) / sqrt(p (1 - p) (1/n1 + 1/n2)), and the two-sided
p-value is P(|Z| >= |z|) = erfc(|z| / sqrt(2)) for a standard normal Z.
"""

import math

SIGNIFICANCE_LEVEL = 0.05


def rate(successes: int, trials: int) -> float | None:
    """successes / trials; None when there were no trials."""
    return successes / trials if trials > 0 else None


def lift(value: float | None, baseline: float | None) -> float | None:
    """The relative change of `value` over `baseline`; None when either is unknown or the
    baseline is zero (a relative change from nothing is not a number)."""
    if value is None or baseline is None or baseline == 0:
        return None
    return (value - baseline) / baseline


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value that x1/n1 and x2/n2 differ; None when a sample is empty or a count
    exceeds its sample (then the counts are not proportions)."""
    if n1 <= 0 or n2 <= 0 or not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance == 0:  # both all successes or both all failures: no difference at all
        return 1.0
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def significant(p_value: float | None) -> bool:
    return p_value is not None and p_value < SIGNIFICANCE_LEVEL
