"""A customer's lifecycle position as others see it: the value of the customer-stage topic.

Derived from the state and the policy alone, so the worker and a retraction (which moves a
customer back) publish the same value for the same state, and a consumer of the compacted
topic always has the latest one.  ``stage_position`` is the cheap part, what a caller compares
to tell whether the record changed; ``stage_record`` dresses it up for publishing.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import NamedTuple

from streams.core.engine import Engine
from streams.core.series import campaign_of
from streams.model.activity import CustomerActivity
from streams.model.records import STAGES, CustomerStage, to_datetime


class StagePosition(NamedTuple):
    """Every field of the record that the state decides (the campaign group follows from the stage)."""

    stage: int  # index into STAGES
    since: float
    episode: int
    tier: str | None
    next_entry: tuple[int, float] | None  # (stage, time) of the next stage entry, if any ahead


def customer_stage(engine: Engine, customer_id: str, state: CustomerActivity) -> CustomerStage | None:
    """The stage record of ``customer_id`` in ``state`` (None: erased, published as a tombstone)."""
    position = stage_position(engine, state)
    return None if position is None else stage_record(engine, customer_id, position)


def stage_position(engine: Engine, state: CustomerActivity) -> StagePosition | None:
    """What the record of a customer in ``state`` says (None: erased)."""
    if state.is_erased():
        return None
    entry = engine.lifecycle.next_entry(state, engine.lifecycle.last_activity(state))
    ahead = (entry[0], entry[1]) if entry is not None else None  # not its reason, which the record does not say
    return StagePosition(state.stage, state.stage_entered_at, state.episode, engine.delivery.tiers.of(state), ahead)


def stage_record(engine: Engine, customer_id: str, position: StagePosition) -> CustomerStage:
    """The record of ``customer_id`` at ``position``, with their group in the campaign of its stage."""
    campaign, variant, holdout = None, None, None
    if engine.series.has_campaign(position.stage):
        campaign = campaign_of(STAGES[position.stage])
        variant, holdout = engine.series.assignment(customer_id, position.stage)
    entry = position.next_entry
    return CustomerStage(
        customer_id=customer_id,
        stage=STAGES[position.stage],
        since=_moment(position.since),
        episode=position.episode,
        tier=position.tier,
        campaign=campaign,
        variant=variant,
        holdout=holdout,
        next_stage=STAGES[entry[0]] if entry is not None else None,
        next_transition_at=_moment(entry[1]) if entry is not None else None,
    )


def _moment(at: float) -> datetime | None:
    """An engine time as a record's timestamp (None for ``NEVER`` or another non-finite time)."""
    return to_datetime(at) if math.isfinite(at) else None
