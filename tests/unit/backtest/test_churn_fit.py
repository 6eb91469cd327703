"""Fitting the BG/NBD model: recovering known parameters, reading a history, refusing what cannot be fitted."""

import numpy as np
import pytest

from streams.backtest.churn_fit import Buyers, FitError, buyers_of, fit
from streams.backtest.history import read_history
from streams.core.churn_model import DAY, BgNbd, total_log_likelihood

from tests.support.builders import T0, line, login, purchase
from tests.support.churn_history import SHOP, simulate


def _buyers(histories: list[list[float]]) -> Buyers:
    x = np.array([len(days) - 2 for days in histories])
    t_x = np.array([days[-2] for days in histories])
    T = np.array([days[-1] for days in histories])
    return Buyers(x=x, t_x=t_x, T=T, since=T0, until=T0 + 540 * DAY)


def test_the_fit_recovers_the_parameters_it_was_simulated_from():
    buyers = _buyers(simulate(SHOP, 4000, seed=7))
    result = fit(buyers)
    found = result.model
    assert (found.r, found.alpha, found.a, found.b) == pytest.approx((SHOP.r, SHOP.alpha, SHOP.a, SHOP.b), rel=0.1)
    customers = list(zip(buyers.x.tolist(), buyers.t_x.tolist(), buyers.T.tolist()))
    # The maximum is a maximum, and its value is the pure model's sum (the numpy form is the same formula).
    assert result.log_likelihood == pytest.approx(total_log_likelihood(found, customers), rel=1e-9)
    assert result.log_likelihood >= total_log_likelihood(SHOP, customers)


def test_buyers_are_counted_from_a_history_file_as_the_stream_counts_them(tmp_path):
    events = [
        purchase(0, "a", event_id="a1"), purchase(10, "a", event_id="a2"), purchase(10, "a", event_id="a2"),  # a redelivery
        purchase(30, "a", event_id="a3"), purchase(5, "b", event_id="b1"), login(40, "c"), purchase(50, "d", event_id="d1"),
    ]  # fmt: skip
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\n".join(line(event) for event in events) + b"\n")
    buyers = buyers_of(read_history([path]))
    by_first = sorted(zip(buyers.T.tolist(), buyers.x.tolist(), buyers.t_x.tolist()), reverse=True)
    assert by_first == [(50.0, 2, 30.0), (45.0, 0, 0.0), (0.0, 0, 0.0)]  # a, b, d; the login of c ends the period
    assert (buyers.since, buyers.until, buyers.purchases) == (T0, T0 + 50 * DAY, 5)
    cut = buyers_of(read_history([path]), until=T0 + 20 * DAY)
    assert sorted(cut.x.tolist()) == [0, 1] and cut.until == T0 + 20 * DAY


def test_too_few_customers_or_no_repeat_buyer_is_a_one_line_error():
    with pytest.raises(FitError, match="too few customers to fit: 20 with a purchase, at least 100 needed"):
        fit(_buyers(simulate(SHOP, 20, seed=1)))
    one_timers = _buyers([[0.0, 90.0]] * 200)
    with pytest.raises(FitError, match="no customer bought twice"):
        fit(one_timers)


def test_a_history_without_a_maximum_is_refused():
    # Everyone buys every day until the end, never dropping out: the likelihood grows without
    # bound as the drop-out odds go to zero, and the fit must say so rather than return a model.
    steady = _buyers([[*map(float, range(60)), 59.0]] * 150)
    with pytest.raises(FitError, match="did not converge"):
        fit(steady)


def test_the_model_file_names_its_data_not_the_clock():
    result = fit(_buyers(simulate(SHOP, 300, seed=3)))
    written = result.as_dict()
    assert written["fitted_at"] == written["calibration"]["until"] == "2025-06-24T12:00:00+00:00"
    assert written["format"] == 1 and written["model"] == "bg/nbd" and written["time_unit_days"] == 1.0
    assert written["customers"] == 300 and set(written["parameters"]) == {"r", "alpha", "a", "b"}
    assert BgNbd(**written["parameters"]) == result.model
