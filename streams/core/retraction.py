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
whose steps are never commands), the outcome ``retracted`` for every trigger of the lapse fired
at or after the late event (the latest, and the earlier stages' the event would have kept the
customer out of too), each naming the late event and the messages sent since it (sent in error:
they cannot be unsent), and the customer is put back as the event found them: ``active`` from
its time, in a new episode, so the stages re-derived from it (the engine fires them as they
come due, also in the past) get ids of their own, never the retracted ones'.

* Only the latest trigger's series is cancelled: an earlier stage of the same lapse ended its
  series when the latest began.
* The earlier stages' entry times are derived again from the customer's last activity, as the
  lifecycle dated them.  When that no longer ends at the current stage's entry (a purchase
  that is not activity changed the cadence since, or the policy changed), only the latest
  trigger is retracted.
* Catching up ``all``, every stage entered fired its trigger.  Catching up ``latest``, a stage
  may have been passed over without one, which the state does not record (a byte per customer
  would): an earlier stage counts as triggered only when a message of its series went out in
  this lapse (one the state remembers), which only a stage not passed over sends.  Another
  earlier trigger stands unretracted, rather than a retraction naming a trigger never published.
* Each retraction lists the messages of its own stage as sent in error; the earliest also those
  of stages whose triggers stand (sent after the late event, before the lapse it ended).  Only
  the messages the state remembers are listed: the latest ``MAX_MESSAGES`` (4) within the
  attribution window (``streams.core.attribution``).  A lapse that sent more since the late
  event lists its latest four; the commands topic has the others (same episode, sent after
  ``late_event_at``).
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from streams.core.attribution import Attributor
from streams.core.lifecycle import ACTIVE, DAY, Lifecycle
from streams.core.recorders import LateEvent, Recorder
from streams.core.series import Series, StepDecision
from streams.model.activity import NEVER, SENT_EPISODE, SENT_STAGE, SIGNAL_FIELDS, CustomerActivity, signal_of
from streams.model.events import AnyInput
from streams.policy.sections import CatchUp, Policy


class Retractor:
    """A policy's ``late_events`` rule (``within``: seconds; None: never retract), for an engine
    that catches up as ``catch_up`` says."""

    def __init__(
        self, policy: Policy, lifecycle: Lifecycle, series: Series, attribution: Attributor, recorder: Recorder[Any], catch_up: CatchUp
    ) -> None:
        late_events = policy.late_events
        self.every_entry_triggers = catch_up == "all"
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
        """Cancel the unsent steps, record the retraction of each trigger of the lapse from the
        late event on (oldest first), and put the customer back."""
        group = self.series.assignment(customer_id, state.stage)
        entered = state.stage_entered_at
        unsent = () if group.holdout else self.series.remaining(state)  # the holdout's steps are never commands
        records = [
            self.recorder.cancel(StepDecision(customer_id, state, step, entered + step.after, late.retracted_at, group.variant), late.at)
            for step in unsent
        ]
        withdrawn = [*self._earlier_triggers(state, late.at), state]
        sent = self.attribution.sent_since(customer_id, state, late.at)
        for trigger in withdrawn:  # the earliest also lists the messages of stages whose triggers stand
            own = [message for message in sent if max(message.stage, withdrawn[0].stage) == trigger.stage]
            cancelled = [step.index for step in unsent] if trigger is state else []
            records.append(self.recorder.retraction(customer_id, trigger, late, self.series.assignment(customer_id, trigger.stage), cancelled, own))
        _restore(state, late.at)
        return records

    def _earlier_triggers(self, state: CustomerActivity, since: float) -> list[CustomerActivity]:
        """The customer as each earlier trigger of the current lapse fired at or after ``since``
        found them (in stage and entry time; oldest first): the lapse's entries as the lifecycle
        dates them from the last activity (``Lifecycle.entries``), if they still reach the current
        stage's entry; none otherwise.  Left out: a stage that may have been passed over without a
        trigger."""
        lapse = {stage: at for stage, at, _ in self.lifecycle.entries(state, ACTIVE, NEVER, self.lifecycle.last_activity(state))}
        if lapse.get(state.stage) != state.stage_entered_at:  # each stage comes once, in the ladder's order
            return []
        return [
            replace(state, stage=stage, stage_entered_at=at)
            for stage, at in lapse.items()
            if stage < state.stage and at >= since and self._triggered(state, stage)
        ]

    def _triggered(self, state: CustomerActivity, stage: int) -> bool:
        """Whether the current lapse's entry of ``stage`` fired a trigger (certain when catching up
        ``all``; else only if a message of its series is remembered)."""
        return self.every_entry_triggers or any(
            message[SENT_STAGE] == stage and message[SENT_EPISODE] == state.episode for message in state.messages
        )


def _restore(state: CustomerActivity, at: float) -> None:
    """The customer as the late activity at ``at`` found them: active from then, in a new
    episode, no longer touched by a campaign the retraction withdrew."""
    state.stage, state.stage_entered_at, state.step, state.deferred_to = ACTIVE, at, 0, NEVER
    state.episode += 1
    if state.touch_at > at:
        state.touch_stage, state.touch_at, state.converted = 0, NEVER, False
