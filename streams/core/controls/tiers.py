"""Value tiers: RFM-style groups by spend and purchase count that pick a step's incentive.

Everyone being contacted is lapsed (recency is what the stages already measure), so tiers
look at monetary value and frequency: the first tier, top to bottom, whose minimums the
customer meets.  A best customer can get free shipping where a one-time buyer gets 10 %.
"""

from __future__ import annotations

from streams.model.activity import CustomerActivity
from streams.policy.sections import Tier


class ValueTiers:
    def __init__(self, tiers: list[Tier]) -> None:
        self.tiers = tuple((tier.name, tier.min_spend, tier.min_purchases) for tier in tiers)

    def of(self, state: CustomerActivity) -> str | None:
        """The customer's tier now, or None (no tiers configured, or none matches)."""
        for name, min_spend, min_purchases in self.tiers:
            if state.total_spend >= min_spend and state.purchase_count >= min_purchases:
                return name
        return None
