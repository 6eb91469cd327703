"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005): is a customer still "alive"?

While alive, a customer buys at rate lambda (Gamma(r, alpha) across customers); after each
purchase they drop out for good with probability p (Beta(a, b) across customers).  From one
customer's repeat purchases ``x``, the time of the latest since their first ``t_x`` and the
time since their first ``T`` (all in the model's time unit), the model says how likely they are
to still be alive, and how many purchases a new customer makes.

This module is the math only, in the standard library (the fit's optimizer lives in
``streams.backtest.churn_fit``): the log-likelihood the fit maximises, P(alive), a new customer's expected
purchases, and when P(alive) falls below a threshold.  That time has a closed form: for fixed
``x`` and ``t_x``, P(alive) only falls as ``T`` grows.  A customer without a repeat purchase
(``x`` = 0) is alive for sure under BG/NBD (drop-out happens only after a purchase): the model
never judges one-time buyers lapsed, the policy's fixed thresholds do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DAY = 86400.0
_SERIES_TERMS = 100_000  # the hypergeometric series converges geometrically in z < 1
_SERIES_TOLERANCE = 1e-12


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters: purchase rate ~ Gamma(r, alpha), drop-out ~ Beta(a, b);
    times in units of ``unit_seconds`` (a day by default)."""

    r: float
    alpha: float
    a: float
    b: float
    unit_seconds: float = DAY

    def __post_init__(self) -> None:
        if not all(math.isfinite(value) and value > 0 for value in (self.r, self.alpha, self.a, self.b, self.unit_seconds)):
            raise ValueError("BG/NBD parameters r, alpha, a, b must be finite and positive")

    def log_likelihood(self, x: int, t_x: float, T: float) -> float:
        """ln L(r, alpha, a, b | x, t_x, T) of one customer (FHL 2005, equation 6)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        log_a1 = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
        log_a2 = math.lgamma(a + b) + math.lgamma(b + x) - math.lgamma(b) - math.lgamma(a + b + x)
        log_a3 = -(r + x) * math.log(alpha + T)
        if x == 0:
            return log_a1 + log_a2 + log_a3
        log_a4 = math.log(a / (b + x - 1)) - (r + x) * math.log(alpha + t_x)
        return log_a1 + log_a2 + _log_add(log_a3, log_a4)

    def p_alive(self, x: int, t_x: float, T: float) -> float:
        """P(the customer is still alive at T | x, t_x, T) (FHL 2005, equation 13)."""
        if x == 0:
            return 1.0
        return 1.0 / (1.0 + math.exp(self._log_odds_dead(x, t_x, T)))

    def _log_odds_dead(self, x: int, t_x: float, T: float) -> float:
        """ln of P(dead) / P(alive) for a customer with a repeat purchase."""
        return math.log(self.a / (self.b + x - 1)) + (self.r + x) * math.log((self.alpha + T) / (self.alpha + t_x))

    def below_at(self, x: int, t_x: float, threshold: float) -> float | None:
        """The T at which P(alive) falls to ``threshold`` (0 < threshold < 1), or None: never
        (no repeat purchase).  It may be at or before ``t_x``: the model then finds the customer
        below the threshold right after their latest purchase."""
        if x == 0:
            return None
        needed = math.log(1.0 / threshold - 1.0) - math.log(self.a / (self.b + x - 1))
        return (self.alpha + t_x) * math.exp(needed / (self.r + x)) - self.alpha

    def expected_purchases(self, t: float) -> float:
        """E[X(t)]: purchases a new customer makes in their first ``t`` (FHL 2005, equation 9)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + t)
        return (a + b - 1) / (a - 1) * (1.0 - math.pow(alpha / (alpha + t), r) * _hyp2f1(r, b, a + b - 1, z))


def total_log_likelihood(model: BgNbd, customers: list[tuple[int, float, float]]) -> float:
    """The sum of ``log_likelihood`` over (x, t_x, T) of every customer."""
    return math.fsum(model.log_likelihood(x, t_x, T) for x, t_x, T in customers)


def _log_add(left: float, right: float) -> float:
    """ln(e^left + e^right) without overflow."""
    high, low = (left, right) if left >= right else (right, left)
    return high + math.log1p(math.exp(low - high))


def _hyp2f1(a: float, b: float, c: float, z: float) -> float:
    """Gauss's hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1, by its power series."""
    if not 0.0 <= z < 1.0:
        raise ValueError(f"2F1 series needs 0 <= z < 1, got {z}")
    term = total = 1.0
    for n in range(_SERIES_TERMS):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        if abs(term) <= _SERIES_TOLERANCE * abs(total):
            return total
    raise ArithmeticError(f"2F1 series did not converge at z={z}")
