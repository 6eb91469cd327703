"""Purchase histories drawn from a BG/NBD model of known parameters, for the fit's and the
predictive trigger's tests: what a fit of them must recover."""

from __future__ import annotations

import numpy as np

from streams.core.churn_model import BgNbd
from tests.support.builders import line, purchase

# Parameters in days of a plausible shop: a purchase every few weeks while active, a third
# of the customers dropping out after each purchase.
SHOP = BgNbd(r=1.2, alpha=40.0, a=0.8, b=1.6)


def simulate(model: BgNbd, customers: int, seed: int, observed_days: tuple[float, float] = (180.0, 540.0)) -> list[list[float]]:
    """Each customer's purchase days, the first at day 0, observed for a uniform span of
    ``observed_days``: a rate from Gamma(r, alpha), and after each repeat purchase a drop-out
    with a probability from Beta(a, b), as the model says."""
    generator = np.random.default_rng(seed)
    histories = []
    for _ in range(customers):
        rate = generator.gamma(model.r, 1 / model.alpha)
        drop = generator.beta(model.a, model.b)
        observed = generator.uniform(*observed_days)
        days, now = [0.0], 0.0
        while (now := now + generator.exponential(1 / rate)) <= observed:
            days.append(now)
            if generator.random() < drop:
                break
        histories.append([*days, observed])
    return histories


def purchase_lines(histories: list[list[float]], end_day: float) -> list[bytes]:
    """JSON lines of every simulated purchase, customer ``i``'s first on day ``end_day -
    observed``, so that all observations end on ``end_day`` (the calibration end)."""
    lines = []
    for index, (*days, observed) in enumerate(histories):
        start = end_day - observed
        lines.extend(line(purchase(start + day, f"c{index}", event_id=f"p{index}-{number}")) for number, day in enumerate(days))
    return lines
