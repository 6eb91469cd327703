"""Late-event retraction: a trigger withdrawn when an event that would have prevented it arrives after it fired.

A purchase made at 10:00 but ingested at 14:00, after a win-back trigger fired at 12:00, means
the customer never lapsed: the trigger should not have fired.  With the policy's ``late_events``
set, the engine hands an activity event dated before the current stage's entry to ``Retractor``
before folding it in.  It retracts when all of these hold:

* the event is newer than every activity known (an older one moves no threshold);
* it would have kept the customer out of the stage: with it in place, the lifecycle does not
  have them in that stage at the trigger's time (``Lifecycle.stage_at``);
* it is not too late: it is applied within ``retract_within_days`` of its own time, on the
  caller's clock (``applied_at``: the worker's clock, the backtest's arrival clock; without
  one, the trigger's time).  Beyond that it is applied as it is, without retraction.

Retracting: a cancel command for every step of the current series not sent yet (the same
command ids as the sends would have had, so senders drop them; none for the campaign's holdout,
whose steps are never commands), the outcome ``retracted``
naming the trigger, the late event and the messages sent since it (sent in error: they cannot
be unsent), and the customer is put back as the event found them: ``active`` from its time, in
a new episode, so the stages re-derived from it (the engine fires them as they come due, also
in the past) get ids of their own, never the retracted ones'.  Only the latest trigger's
series is cancelled: an earlier stage of the same lapse ended its series when the latest began.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from streams.core.attribution import Attributor
from streams.core.lifecycle import ACTIVE, DAY, Lifecycle
from streams.core.recorders import LateEvent, Recorder
from streams.core.series import Series, StepDecision
from streams.model.activity import NEVER, SIGNAL_FIELDS, CustomerActivity, signal_of
from streams.model.events import AnyInput
from streams.policy.sections import Policy


class Retractor:
    """A policy's ``late_events`` rule (``within``: seconds; None: never retract)."""

    def __init__(self, policy: Policy, lifecycle: Lifecycle, series: Series, attribution: Attributor, recorder: Recorder[Any]) -> None:
        late_events = policy.late_events
        self.within = late_events.retract_within_days * DAY if late_events is not None else None
        self.lifecycle = lifecycle
        self.series = series
        self.attribution = attribution
        self.recorder = recorder

    def retract(self, customer_id: str, state: CustomerActivity, event: AnyInput, at: float, applied_at: float | None) -> list[Any]:
        """If ``event``, dated ``at`` and applied at ``applied_at``, retracts the customer's current
        trigger: its records, with ``state`` put back to ``active`` from ``at``; else nothing changes."""
        if self.within is None or state.stage == ACTIVE or at >= state.stage_entered_at:
            return []
        retracted_at = applied_at if applied_at is not None else state.stage_entered_at
        if retracted_at - at > self.within or not self._prevented(state, event, at):
            return []
        return self._retracted(customer_id, state, LateEvent(event, at, max(retracted_at, state.stage_entered_at)))

    def _prevented(self, state: CustomerActivity, event: AnyInput, at: float) -> bool:
        """Whether activity ``event`` at ``at`` would have kept the customer out of their stage."""
        signal = signal_of(event)
        if signal is None or signal not in self.lifecycle.signals or at <= self.lifecycle.last_activity(state):
            return False
        in_time = replace(state, stage=ACTIVE, stage_entered_at=at, **{SIGNAL_FIELDS[signal]: at})
        return self.lifecycle.stage_at(in_time, state.stage_entered_at) != state.stage

    def _retracted(self, customer_id: str, state: CustomerActivity, late: LateEvent) -> list[Any]:
        """Cancel the unsent steps, record the retraction, and put the customer back."""
        group = self.series.assignment(customer_id, state.stage)
        entered = state.stage_entered_at
        unsent = () if group.holdout else self.series.remaining(state)  # the holdout's steps are never commands
        records = [
            self.recorder.cancel(StepDecision(customer_id, state, step, entered + step.after, late.retracted_at, group.variant), late.at)
            for step in unsent
        ]
        sent = self.attribution.sent_since(customer_id, state, late.at)
        records.append(self.recorder.retraction(customer_id, state, late, group, [step.index for step in unsent], sent))
        _restore(state, late.at)
        return records


def _restore(state: CustomerActivity, at: float) -> None:
    """The customer as the late activity at ``at`` found them: active from then, in a new
    episode, no longer touched by a campaign the retraction withdrew."""
    state.stage, state.stage_entered_at, state.step, state.deferred_to = ACTIVE, at, 0, NEVER
    state.episode += 1
    if state.touch_at > at:
        state.touch_stage, state.touch_at, state.converted = 0, NEVER, False
