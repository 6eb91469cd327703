"""Every customer's state from a shop's history: what ``winback backfill`` writes into the table.

Each customer's events up to ``as_of`` go through the worker's own ``Engine``, so a backfilled
state holds the same facts a worker would have gathered from the same events (duplicates,
profiles, erasures and late events by the same rules).  What the policy *would* have done in
the past is then forgotten: the stage, the series, the sends counted for caps and the latest
touch are reset to "active", because none of those messages was ever sent.  The worker that
starts afterwards indexes the customer as due as of their last activity and, catching up,
enters the stage they are in now, and only that one (docs/backfill.md).

Each state remembers the history's end (``history_until``: its latest event up to ``as_of``),
so the worker takes a live event dated no later than that as one of the history's, and
does not count it twice.  A customer the history erased is left out.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import msgspec

from streams.backtest.history import History
from streams.backtest.report import COUNTING
from streams.core.engine import Engine
from streams.core.lifecycle import ACTIVE
from streams.model.activity import NEVER, CustomerActivity
from streams.model.records import STAGES
from streams.policy.sections import Policy


@dataclass
class Backfill:
    """The states computed, what the run read, and the stage of each customer at ``as_of``."""

    as_of: float
    states: dict[str, CustomerActivity] = field(default_factory=dict)
    stages: Counter[str] = field(default_factory=Counter)  # customers per stage at ``as_of``
    events: int = 0  # valid events applied
    after_as_of: int = 0  # valid events dated after ``as_of``: left out
    duplicates: int = 0
    erased: int = 0  # customers the history erased: not written
    horizon: float | None = None  # the latest event applied

    def summary(self) -> dict[str, object]:
        """The dry run's JSON: each customer once, in the stage they are in at ``as_of``."""
        return {
            "as_of": datetime.fromtimestamp(self.as_of, tz=timezone.utc).isoformat().replace("+00:00", "Z"),
            "customers": len(self.states),
            "stages": {stage: self.stages[stage] for stage in STAGES},
        }


def compute_backfill(
    history: History, policy: Policy, as_of: float, *, now: float, on_events: Callable[[int], None] = lambda count: None
) -> Backfill:
    """Every customer's backfilled state at ``as_of`` (``now``: the real time, which bounds how
    far ahead a profile's time counts, as in a worker); ``on_events`` is told each customer's
    number of events as they are applied, for a progress bar."""
    engine = Engine(policy, COUNTING)
    backfill = Backfill(as_of)
    for customer in history.log.customers():
        events, times = customer.events, customer.times
        kept = _count_until(times, as_of)
        backfill.after_as_of += len(times) - kept
        on_events(len(times))
        if not kept:
            continue
        state, _, duplicates = engine.replay(customer.customer_id, None, events[:kept], times[:kept], now=now)
        backfill.events += kept
        backfill.duplicates += duplicates
        if state.is_erased():
            backfill.erased += 1
            continue
        backfill.states[customer.customer_id] = state
        if backfill.horizon is None or times[kept - 1] > backfill.horizon:
            backfill.horizon = times[kept - 1]
    for customer_id, state in backfill.states.items():
        backfill.states[customer_id] = state = _as_history(state, backfill.horizon)
        backfill.stages[engine.stage_at(state, as_of) or "active"] += 1
    return backfill


def _count_until(times: list[float], as_of: float) -> int:
    """How many of the (sorted) ``times`` are at or before ``as_of``."""
    return len(times) if times[-1] <= as_of else bisect_right(times, as_of)


def _as_history(state: CustomerActivity, horizon: float | None) -> CustomerActivity:
    """The facts of ``state`` with the lifecycle of a customer active since they were first seen:
    no stage entered, no series running, no message sent, nothing to attribute a purchase to."""
    return msgspec.structs.replace(
        state,
        stage=ACTIVE,
        stage_entered_at=state.first_seen,
        step=0,
        deferred_to=NEVER,
        sends=[],
        touch_stage=0,
        touch_episode=0,
        touch_at=NEVER,
        converted=False,
        history_until=horizon,
    )
