"""Confidence intervals against published values and hand computation."""

import math

import pytest

from streams.core.statistics import Sample, mean_difference, proportion_difference, t_quantile, wilson


@pytest.mark.parametrize(
    ("freedom", "quantile"),
    [(1, 12.7062047), (2, 4.3026527), (4, 2.7764451), (10, 2.2281389), (30, 2.0422725), (1000, 1.9623391)],
)
def test_the_t_quantile_matches_the_tables(freedom, quantile):
    assert t_quantile(0.975, freedom) == pytest.approx(quantile, abs=1e-6)


def test_wilson_matches_the_closed_form():
    # 3 of 10: centre (0.3 + z²/20) / (1 + z²/10), half z/(1 + z²/10) * sqrt(0.021 + z²/400).
    z = 1.959963984540054
    centre = (0.3 + z * z / 20) / (1 + z * z / 10)
    half = z / (1 + z * z / 10) * math.sqrt(0.3 * 0.7 / 10 + z * z / 400)
    assert wilson(3, 10) == pytest.approx((centre - half, centre + half))
    assert wilson(3, 10) == pytest.approx((0.1078, 0.6032), abs=1e-4)


def test_newcombe_matches_his_published_example():
    # Newcombe (1998), Statistics in Medicine 17: 56/70 vs 48/80, method 10: 0.0524 to 0.3339.
    interval = proportion_difference(56, 70, 48, 80)
    assert interval.estimate == pytest.approx(0.2)
    assert (interval.low, interval.high) == pytest.approx((0.0524, 0.3339), abs=1e-4)
    assert interval.significant


def test_newcombe_stays_inside_minus_one_to_one_with_no_conversions():
    interval = proportion_difference(0, 5, 0, 5)
    assert interval.estimate == 0 and -1 <= interval.low < 0 < interval.high <= 1 and not interval.significant
    assert proportion_difference(1, 0, 1, 2) is None


def test_welch_by_hand_with_equal_groups():
    # Two groups of 5 with variance 4: se = sqrt(4/5 + 4/5), 8 degrees of freedom, t = 2.306004.
    interval = mean_difference(Sample(5, 10.0, 4.0), Sample(5, 7.0, 4.0))
    half = 2.306004 * math.sqrt(1.6)
    assert (interval.estimate, interval.low, interval.high) == pytest.approx((3.0, 3.0 - half, 3.0 + half), abs=1e-5)
    assert interval.significant
    assert mean_difference(Sample(1, 1.0, 0.0), Sample(5, 7.0, 4.0)) is None


def test_a_sample_from_running_sums():
    # Values 100, 20, 0, 0: mean 30, variance (10400 - 4 * 900) / 3.
    assert Sample.of_sums(4, 120.0, 10400.0) == pytest.approx(Sample(4, 30.0, 6800 / 3))
