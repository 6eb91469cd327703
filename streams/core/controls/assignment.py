"""Holdout and A/B variant assignment: a stable hash of customer and campaign.

No state and no randomness: a customer lands in the same group in every process, after every
restart and in every replay or backtest, which is what makes lift against the holdout and
variant comparisons measurable.
"""

from __future__ import annotations

from hashlib import blake2b
from typing import NamedTuple

from streams.model.records import DEFAULT_VARIANT

_SCALE = float(1 << 64)


class Assignment(NamedTuple):
    variant: str
    holdout: bool


class Assigner:
    """A campaign's holdout share and variant weights, turned into buckets of the unit interval."""

    def __init__(self, campaign: str, holdout: float, variants: dict[str, float]) -> None:
        self.campaign = campaign
        self.holdout = holdout
        weights = variants or {DEFAULT_VARIANT: 1.0}
        total = sum(weights.values())
        running = 0.0
        self._bounds: list[tuple[float, str]] = []
        for name, weight in weights.items():
            running += weight / total
            self._bounds.append((running, name))
        # No holdout and one variant: everyone is in the same group, no hash needed.
        self._everyone = Assignment(self._bounds[0][1], False) if not holdout and len(self._bounds) == 1 else None
        # The latest customer asked about and their group: a customer's steps and entries ask
        # one after another (a backtest replays each customer's history at once).
        self._latest: tuple[str, Assignment] | None = None

    def assign(self, customer_id: str) -> Assignment:
        """The customer's group: held out with probability ``holdout``, else a variant by weight."""
        if self._everyone is not None:
            return self._everyone
        if self._latest is not None and self._latest[0] == customer_id:
            return self._latest[1]
        point = position(customer_id, self.campaign)
        if point < self.holdout:
            group = Assignment(self._variant((point / self.holdout) if self.holdout else 0.0), True)
        else:
            group = Assignment(self._variant((point - self.holdout) / (1.0 - self.holdout)), False)
        self._latest = (customer_id, group)
        return group

    def _variant(self, point: float) -> str:
        for bound, name in self._bounds:
            if point < bound:
                return name
        return self._bounds[-1][1]  # rounding at the very top of the interval


def position(customer_id: str, campaign: str) -> float:
    """The customer's point in [0, 1) for this campaign: uniform over customers, fixed forever."""
    digest = blake2b(f"{campaign}\x1f{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE
