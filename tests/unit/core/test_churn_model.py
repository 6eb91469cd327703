"""The BG/NBD math: published CDNOW figures, and the closed forms against the model's own integrals."""

import math

import pytest
from scipy import integrate

from streams.core.churn_model import BgNbd, total_log_likelihood

# Fader, Hardie & Lee (2005): the fit on CDNOW's 2,357 customers, in weeks (the paper rounds
# these to r=0.243, alpha=4.414, a=0.793, b=2.426; Hardie's spreadsheet has a digit more).
CDNOW = BgNbd(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259, unit_seconds=7 * 86400.0)


def test_expected_purchases_match_the_published_cdnow_figures():
    # Hardie's spreadsheet of the paper: E[X(t)] of a new customer after t weeks.
    weeks = [0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0]
    published = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]
    assert [CDNOW.expected_purchases(t) for t in weeks] == pytest.approx(published, abs=0.0005)


def _individual(x: int, t_x: float, T: float, rate: float, drop: float, alive_only: bool) -> float:
    """The likelihood of (x, t_x, T) for one customer of known purchase rate and drop-out probability."""
    alive = (1 - drop) ** x * rate**x * math.exp(-rate * T)
    if alive_only or x == 0:
        return alive
    return alive + drop * (1 - drop) ** (x - 1) * rate**x * math.exp(-rate * t_x)


def _mixed(model: BgNbd, x: int, t_x: float, T: float, alive_only: bool = False) -> float:
    """The individual likelihood integrated over Gamma(r, alpha) rates and Beta(a, b) drop-outs."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b

    def weighted(rate: float, drop: float) -> float:
        log_rate_density = r * math.log(alpha) + (r - 1) * math.log(rate) - alpha * rate - math.lgamma(r)
        log_drop_density = (a - 1) * math.log(drop) + (b - 1) * math.log1p(-drop) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        return _individual(x, t_x, T, rate, drop, alive_only) * math.exp(log_rate_density + log_drop_density)

    highest_rate = 60.0 / alpha  # the Gamma(1.3, 6) tail beyond it is below 1e-100
    value, _ = integrate.dblquad(weighted, 0, 1, 0, highest_rate, epsabs=1e-14, epsrel=1e-7)
    return value


@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 20.0), (1, 3.0, 10.0), (4, 25.5, 38.0)])
def test_the_log_likelihood_is_the_mixture_of_the_individual_model(x, t_x, T):
    model = BgNbd(r=1.3, alpha=6.0, a=0.9, b=2.5)
    assert model.log_likelihood(x, t_x, T) == pytest.approx(math.log(_mixed(model, x, t_x, T)), abs=1e-5)


@pytest.mark.parametrize(("x", "t_x", "T"), [(1, 3.0, 10.0), (4, 25.5, 38.0)])
def test_p_alive_is_the_posterior_share_of_the_alive_branch(x, t_x, T):
    model = BgNbd(r=1.3, alpha=6.0, a=0.9, b=2.5)
    posterior = _mixed(model, x, t_x, T, alive_only=True) / _mixed(model, x, t_x, T)
    assert model.p_alive(x, t_x, T) == pytest.approx(posterior, abs=1e-6)


def test_one_time_buyers_are_alive_for_sure_and_never_cross():
    assert CDNOW.p_alive(0, 0.0, 500.0) == 1.0
    assert CDNOW.below_at(0, 0.0, 0.3) is None


def test_p_alive_falls_with_time_and_crosses_the_threshold_at_the_solved_time():
    x, t_x = 3, 12.0
    crossing = CDNOW.below_at(x, t_x, 0.3)
    assert crossing is not None and crossing > t_x
    assert CDNOW.p_alive(x, t_x, crossing) == pytest.approx(0.3, abs=1e-12)
    later = [CDNOW.p_alive(x, t_x, T) for T in (t_x, crossing - 1, crossing, crossing + 1, crossing * 3)]
    assert later == sorted(later, reverse=True) and later[1] > 0.3 > later[3]


def test_a_crossing_before_the_latest_purchase_is_reported_as_it_is():
    # 1 repeat purchase: right after it, P(alive) = 1 / (1 + a / b) = 0.754 with CDNOW's figures.
    assert CDNOW.p_alive(1, 10.0, 10.0) == pytest.approx(1 / (1 + CDNOW.a / CDNOW.b))
    crossing = CDNOW.below_at(1, 10.0, 0.8)
    assert crossing is not None and crossing < 10.0


def test_the_total_is_the_sum_over_customers():
    customers = [(0, 0.0, 30.0), (2, 10.0, 30.0), (5, 28.0, 30.0)]
    assert total_log_likelihood(CDNOW, customers) == pytest.approx(sum(CDNOW.log_likelihood(*c) for c in customers))


@pytest.mark.parametrize("field", ["r", "alpha", "a", "b"])
def test_parameters_must_be_positive(field):
    values = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0, field: 0.0}
    with pytest.raises(ValueError, match="finite and positive"):
        BgNbd(**values)
