"""The lifecycle ladder: active -> reactivation -> winback -> sunset, by time since last activity.

A customer enters a stage when the time since their last activity reaches the stage's
threshold (fixed, or adaptive to their purchase cadence).  Stages are entered in order, never
before the previous one: when adaptive thresholds would put a later stage first, the later
stage starts the moment the earlier one does.
Activity, as the policy defines it, returns the customer to ``active``; what that does to
episodes and series is the engine's business.  A customer with no activity at all (only, say,
email deliveries) never lapses: there is nothing to win back.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Callable, Iterator, NamedTuple

from streams.core.churn_model import BgNbd
from streams.model.activity import NEVER, SIGNAL_FIELDS, CustomerActivity, signal_of
from streams.model.records import STAGES, TriggerReason
from streams.model.events import AnyInput
from streams.policy.sections import Policy, Predictive, Threshold

DAY = 86400.0
ACTIVE = 0
P_ALIVE_DIGITS = 4  # P(alive) as a trigger states it


class EntryCause(NamedTuple):
    """Why a customer entered a stage (``streams.model.records.Trigger``'s ``reason``), and the
    churn model's P(alive) then (None: the policy has no predictive model, or they never bought)."""

    reason: TriggerReason
    p_alive: float | None


BY_THRESHOLD = EntryCause("threshold", None)

# A stage entry ahead, as (stage, time, reason): the reason is "predictive" when the churn
# model's time came before the stage's threshold.  A plain tuple: the engine makes one or two
# per event, and a NamedTuple costs ten times as much to make.
Entry = tuple[int, float, TriggerReason]


class Lifecycle:
    """A policy's stage ladder, compiled for per-event use."""

    def __init__(self, policy: Policy) -> None:
        self.signals = frozenset(policy.activity.signals)
        self._activity_times: Callable[[CustomerActivity], tuple[float, ...]] = _getter(
            [SIGNAL_FIELDS[signal] for signal in policy.activity.signals]
        )
        ladder = policy.stages.configured()
        codes = [STAGES.index(stage) for stage, _ in ladder]
        self._thresholds: list[Threshold] = [threshold for _, threshold in ladder]
        self._adaptive = any(threshold.adaptive for threshold in self._thresholds)
        self._fixed_seconds = [threshold.days_for(None) * DAY for threshold in self._thresholds]
        # The ladder's next rung above each stage, as (position in the ladder, stage), or None.
        self._next_rung = [
            next(((position, code) for position, code in enumerate(codes) if code > stage), None)
            for stage in range(len(STAGES))
        ]
        self._predictive = PredictiveTrigger(policy.predictive) if policy.predictive is not None else None
        # The rungs the predictive trigger may bring forward: win-back and those before it.
        self._predicted_rungs = len(codes) if policy.predictive is None else codes.index(STAGES.index("winback")) + 1
        # No customer lapses sooner than this after their last activity, unless predicted to.
        self._soonest = self._thresholds[0].earliest_days * DAY

    @property
    def predictive(self) -> bool:
        """Whether the policy's predictive trigger may bring a stage forward."""
        return self._predictive is not None

    def last_activity(self, state: CustomerActivity) -> float:
        """When the customer last did something the policy counts as activity (``NEVER`` if never)."""
        return max(self._activity_times(state))

    def quiet_until(self, state: CustomerActivity, last_activity: float) -> float:
        """An active customer enters no stage before this, if nothing happens first (the engine's
        shortcut past the due check).  Without a predictive trigger it only moves forward as
        activity does; with one, a purchase may bring it forward (``predictive``)."""
        soonest = last_activity + self._soonest
        if self._predictive is not None:
            predicted = self._predictive.due(state, last_activity)
            if predicted is not None and predicted < soonest:
                return predicted
        return soonest

    def is_activity(self, event: AnyInput) -> bool:
        return signal_of(event) in self.signals

    def next_entry(self, state: CustomerActivity, last_activity: float) -> Entry | None:
        """The customer's next stage entry if they stay inactive, or None."""
        return self.entry_after(state, state.stage, state.stage_entered_at, last_activity)

    def stage_at(self, state: CustomerActivity, at: float) -> int:
        """The stage the customer is in at ``at`` (entries due at it included) if nothing happens
        before: the stage a ``catch_up: latest`` engine enters when it advances them to ``at``."""
        stage = state.stage
        for entry in self.entries(state, state.stage, state.stage_entered_at, self.last_activity(state)):
            if entry[1] > at:
                break
            stage = entry[0]
        return stage

    def entries(self, state: CustomerActivity, stage: int, entered_at: float, last_activity: float) -> Iterator[Entry]:
        """The entries that follow ``stage``, entered at ``entered_at``, in order, if the customer
        stays inactive: the rest of the ladder, each rung dated by ``entry_after`` from the one before."""
        entry = self.entry_after(state, stage, entered_at, last_activity)
        while entry is not None:
            yield entry
            entry = self.entry_after(state, entry[0], entry[1], last_activity)

    def entry_after(self, state: CustomerActivity, stage: int, entered_at: float, last_activity: float) -> Entry | None:
        """The entry that follows ``stage``, entered at ``entered_at``, or None.

        No entry may be dated before what it depends on: that stage's start and, when
        thresholds follow the cadence, the purchase that last changed it (a purchase that does
        not count as activity can shorten the threshold below the inactivity already reached:
        the stage then starts at that purchase, not in the past)."""
        rung = self._next_rung[stage]
        if last_activity == NEVER or rung is None:
            return None
        position, code = rung
        due = last_activity + self._seconds(state, position)
        reason: TriggerReason = "threshold"
        if self._predictive is not None and position < self._predicted_rungs:
            predicted = self._predictive.due(state, last_activity)
            if predicted is not None and predicted < due:
                due, reason = predicted, "predictive"
        earliest = max(entered_at, state.last_purchase) if self._adaptive else entered_at
        return code, due if due > earliest else earliest, reason

    def cause(self, state: CustomerActivity, reason: TriggerReason) -> EntryCause:
        """Why the customer entered ``state.stage`` at ``state.stage_entered_at`` (just now, for
        the ``reason`` of the entry ``entry_after`` dated), with the churn model's P(alive) then."""
        if self._predictive is None:
            return BY_THRESHOLD
        return EntryCause(reason, self._predictive.p_alive(state, state.stage_entered_at))

    def _seconds(self, state: CustomerActivity, position: int) -> float:
        """Inactivity needed to reach the ladder's ``position``-th stage, for this customer."""
        if not self._adaptive:
            return self._fixed_seconds[position]
        cadence = state.cadence()
        return self._thresholds[position].days_for(None if cadence is None else cadence / DAY) * DAY


def _getter(fields: list[str]) -> Callable[[CustomerActivity], tuple[float, ...]]:
    """A getter that always returns a tuple (attrgetter returns a bare value for one field)."""
    if len(fields) == 1:
        single = attrgetter(fields[0])
        return lambda state: (single(state),)
    return attrgetter(*fields)


class PredictiveTrigger:
    """When a customer's P(alive) drops below the policy's threshold (``Predictive``): the time
    their win-back starts unless the fixed threshold comes first.

    P(alive) only falls while the customer does not buy, so the time is solved for once per
    state, not searched.  Only a drop after the customer's last activity counts: activity since
    (a login, a click) shows them still there, and only their next purchase moves the time on.
    """

    def __init__(self, predictive: Predictive) -> None:
        parameters = predictive.model
        self.model = BgNbd(
            r=parameters.r, alpha=parameters.alpha, a=parameters.a, b=parameters.b, unit_seconds=parameters.time_unit_days * DAY
        )
        self.threshold = predictive.enter_winback_below

    def due(self, state: CustomerActivity, last_activity: float) -> float | None:
        """When P(alive) falls below the threshold, if that is after ``last_activity``; else None."""
        first = state.bought_first()
        if first == NEVER:
            return None
        unit = self.model.unit_seconds
        crossing = self.model.below_at(state.purchase_count - 1, (state.last_purchase - first) / unit, self.threshold)
        if crossing is None:
            return None
        at = first + crossing * unit
        return at if at > last_activity else None

    def p_alive(self, state: CustomerActivity, at: float) -> float | None:
        """The customer's P(alive) at ``at``, to ``P_ALIVE_DIGITS`` decimals (None: never bought)."""
        first = state.bought_first()
        if first == NEVER:
            return None
        unit = self.model.unit_seconds
        alive = self.model.p_alive(state.purchase_count - 1, (state.last_purchase - first) / unit, (at - first) / unit)
        return round(alive, P_ALIVE_DIGITS)
