"""Fitting the BG/NBD model (``streams.core.churn_model``) to a shop's purchase history.

Each customer with a purchase becomes (x, t_x, T): their repeat purchases, the time from their
first purchase to their latest, and from their first purchase to the end of the calibration
period (the history's last event, or ``until``), in days, counted as the stream counts them
(a purchase whose event id repeats is one purchase).  The four parameters are found by maximum
likelihood (scipy's L-BFGS-B on their logarithms, so they stay positive).  The result is
reproducible: it depends on the history only, and is dated by it, never by the clock.

The log-likelihood is written here again over numpy arrays: the optimizer evaluates it
hundreds of times over every customer, which the per-customer form would make minutes of a
large shop's fit; a unit test holds the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from streams.backtest.history import History
from streams.core.churn_model import DAY, BgNbd
from streams.model.events import Purchase
from streams.model.records import to_datetime
from streams.policy.loading import MODEL_FILE_FORMAT, MODEL_KIND

MIN_CUSTOMERS = 100  # fewer buyers than this: the fit would describe anecdotes
_START = np.log([1.0, 1.0, 1.0, 1.0])  # r, alpha, a, b = 1: a neutral start on the log scale


class FitError(Exception):
    """A history the model cannot be fitted to: one line saying why."""


@dataclass(frozen=True)
class Buyers:
    """Every buyer's (x, t_x, T) in days, and the calibration period they were taken over."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    since: float  # the earliest first purchase, epoch seconds
    until: float  # the end of the calibration period, epoch seconds

    @property
    def purchases(self) -> int:
        return int(self.x.sum()) + len(self.x)


@dataclass(frozen=True)
class Fit:
    """The fitted model and what it was fitted on."""

    model: BgNbd
    log_likelihood: float
    buyers: Buyers

    def as_dict(self) -> dict[str, Any]:
        """The model file's content (versioned; dated by the data, so a rerun writes the same bytes)."""
        model, buyers = self.model, self.buyers
        return {
            "format": MODEL_FILE_FORMAT,
            "model": MODEL_KIND,
            "time_unit_days": model.unit_seconds / DAY,
            "parameters": {"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b},
            "log_likelihood": self.log_likelihood,
            "customers": len(buyers.x),
            "repeat_buyers": int((buyers.x > 0).sum()),
            "purchases": buyers.purchases,
            "calibration": {"from": to_datetime(buyers.since).isoformat(), "until": to_datetime(buyers.until).isoformat()},
            "fitted_at": to_datetime(buyers.until).isoformat(),
        }


def buyers_of(history: History, until: float | None = None) -> Buyers:
    """(x, t_x, T) of every customer with a purchase up to ``until`` (default: the last event)."""
    firsts: list[float] = []
    lasts: list[float] = []
    repeats: list[int] = []
    latest = float("-inf")
    for customer in history.log.customers():
        times: dict[str, float] = {}
        for event, at in zip(customer.events, customer.times):
            if until is None or at <= until:
                latest = max(latest, at)
                if type(event) is Purchase:
                    times.setdefault(event.event_id, at)
        if times:
            firsts.append(min(times.values()))
            lasts.append(max(times.values()))
            repeats.append(len(times) - 1)
    end = until if until is not None else latest
    first = np.array(firsts)
    return Buyers(
        x=np.array(repeats, dtype=np.int64),
        t_x=(np.array(lasts) - first) / DAY,
        T=(end - first) / DAY,
        since=float(first.min()) if firsts else end,
        until=end,
    )


def fit(buyers: Buyers) -> Fit:
    """The maximum-likelihood BG/NBD model of these buyers; ``FitError`` if there is none to find."""
    customers = len(buyers.x)
    if customers < MIN_CUSTOMERS:
        raise FitError(f"too few customers to fit: {customers} with a purchase, at least {MIN_CUSTOMERS} needed")
    if not (buyers.x > 0).any():
        raise FitError("no customer bought twice: the model cannot tell how customers drop out")
    result = optimize.minimize(_negative_log_likelihood, _START, args=(buyers,), method="L-BFGS-B", bounds=[(-10.0, 10.0)] * 4)
    if not result.success or not np.isfinite(result.fun) or np.any(np.abs(result.x) >= 10.0):
        raise FitError(f"the fit did not converge ({result.message}); is the history long enough to show repeat purchases?")
    r, alpha, a, b = (float(value) for value in np.exp(result.x))
    return Fit(BgNbd(r=r, alpha=alpha, a=a, b=b), float(-result.fun), buyers)


def _negative_log_likelihood(log_parameters: np.ndarray, buyers: Buyers) -> float:
    """-sum of ln L(r, alpha, a, b | x, t_x, T) over the buyers (FHL 2005, equation 6)."""
    r, alpha, a, b = np.exp(log_parameters)
    x, t_x, T = buyers.x, buyers.t_x, buyers.T
    ln_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    ln_a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    ln_a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    ln_a4 = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return float(-np.sum(ln_a1 + ln_a2 + np.logaddexp(ln_a3, ln_a4)))
