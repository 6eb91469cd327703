"""A customer's lifecycle position as others see it: the value of the customer-stage topic.

Derived from the state and the policy alone, so the worker and a retraction (which moves a
customer back) publish the same value for the same state, and a consumer of the compacted
topic always has the latest one.
"""

from __future__ import annotations

import math
from datetime import datetime

from streams.core.engine import Engine
from streams.core.series import campaign_of
from streams.model.activity import CustomerActivity
from streams.model.records import STAGES, CustomerStage, to_datetime


def customer_stage(engine: Engine, customer_id: str, state: CustomerActivity) -> CustomerStage | None:
    """The stage record of ``customer_id`` in ``state`` (None: erased, published as a tombstone)."""
    if state.is_erased():
        return None
    entry = engine.lifecycle.next_entry(state, engine.lifecycle.last_activity(state))
    campaign, variant, holdout = None, None, None
    if engine.series.has_campaign(state.stage):
        campaign = campaign_of(STAGES[state.stage])
        variant, holdout = engine.series.assignment(customer_id, state.stage)
    return CustomerStage(
        customer_id=customer_id,
        stage=STAGES[state.stage],
        since=_moment(state.stage_entered_at),
        episode=state.episode,
        tier=engine.delivery.tiers.of(state),
        campaign=campaign,
        variant=variant,
        holdout=holdout,
        next_stage=STAGES[entry[0]] if entry is not None else None,
        next_transition_at=_moment(entry[1]) if entry is not None else None,
    )


def _moment(at: float) -> datetime | None:
    """An engine time as a record's timestamp (None for ``NEVER`` or another non-finite time)."""
    return to_datetime(at) if math.isfinite(at) else None
