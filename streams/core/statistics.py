"""95 % confidence intervals for the difference between two groups: proportions and means.

Lift over the holdout and the race between A/B variants are differences between two groups,
judged by the interval around them: it excludes zero when the difference is significant.
Conversion rates use Newcombe's hybrid score interval (method 10 of Newcombe 1998), built from
the two groups' Wilson intervals: unlike the plain Wald interval it stays sensible for the
small counts and zero conversions of an early campaign.  Revenue per customer uses Welch's
t interval (unequal variances), with the Student t quantile computed here from the regularised
incomplete beta function, so the core needs no scipy.
"""

from __future__ import annotations

import math
from typing import NamedTuple

Z_95 = 1.959963984540054  # the standard normal's 97.5 % quantile
_TAIL_95 = 0.975


class Interval(NamedTuple):
    """A difference (first group minus second) and its 95 % confidence interval."""

    estimate: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
        return self.low > 0 or self.high < 0


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval of a proportion (``trials`` > 0)."""
    p = successes / trials
    spread = z * z / trials
    centre = (p + spread / 2) / (1 + spread)
    half = z / (1 + spread) * math.sqrt(p * (1 - p) / trials + spread / (4 * trials))
    # Clamped to hold p exactly: at 0 or 1 rounding would otherwise leave it a hair outside.
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def proportion_difference(successes: int, trials: int, base_successes: int, base_trials: int) -> Interval | None:
    """Newcombe's interval of ``successes/trials - base_successes/base_trials`` (None: a group is
    empty, or has more successes than trials, as a report of part of a history can)."""
    if not (0 <= successes <= trials and 0 <= base_successes <= base_trials and trials and base_trials):
        return None
    p1, p2 = successes / trials, base_successes / base_trials
    (l1, u1), (l2, u2) = wilson(successes, trials), wilson(base_successes, base_trials)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Interval(difference, low, high)


class Sample(NamedTuple):
    """A group's size, mean and (n - 1) sample variance."""

    size: int
    mean: float
    variance: float

    @classmethod
    def of_sums(cls, size: int, total: float, squares: float) -> Sample:
        """From the count, sum and sum of squares of the values (a stream keeps only these)."""
        mean = total / size
        variance = max(0.0, (squares - size * mean * mean) / (size - 1)) if size > 1 else 0.0
        return cls(size, mean, variance)


def mean_difference(sample: Sample, base: Sample) -> Interval | None:
    """Welch's interval of ``sample.mean - base.mean`` (None: a group has fewer than two values)."""
    if sample.size < 2 or base.size < 2:
        return None
    a, b = sample.variance / sample.size, base.variance / base.size
    difference = sample.mean - base.mean
    if a + b == 0:  # no spread at all: the difference is exact
        return Interval(difference, difference, difference)
    freedom = (a + b) ** 2 / (a * a / (sample.size - 1) + b * b / (base.size - 1))
    half = t_quantile(_TAIL_95, freedom) * math.sqrt(a + b)
    return Interval(difference, difference - half, difference + half)


def t_quantile(probability: float, freedom: float) -> float:
    """The Student t quantile for ``probability`` in (0.5, 1) and ``freedom`` > 0 degrees, by bisection of the CDF."""
    low, high = 0.0, 1.0
    while t_cdf(high, freedom) < probability:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if t_cdf(middle, freedom) < probability:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def t_cdf(t: float, freedom: float) -> float:
    """P(T <= t) for Student's t with ``freedom`` degrees (t >= 0)."""
    return 1 - 0.5 * _incomplete_beta(freedom / (freedom + t * t), freedom / 2, 0.5)


def _incomplete_beta(x: float, a: float, b: float) -> float:
    """The regularised incomplete beta function I_x(a, b), by its continued fraction (Lentz)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast only below this: use the symmetry
        return 1 - _incomplete_beta(1 - x, b, a)
    return front * _beta_fraction(x, a, b) / a


def _beta_fraction(x: float, a: float, b: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return result
