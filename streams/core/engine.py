"""The decision engine: one customer's state plus an event or a clock tick in, records out.

Pure and deterministic, so the stream processor, the backtest and the tests share it.  Time is
float epoch seconds (UTC).  The engine never reads a clock: the caller says what time it is
(the event's time, or the scheduler's tick), which makes replays exact and wall-clock and
event-time operation the same code.

Ordering rules (they make backtests reproducible):

* ``apply`` first fires everything due *strictly before* the event, then applies the event: an
  event at exactly the moment a stage would start keeps the customer from lapsing;
* ``advance(now)`` fires everything due *at or before* ``now``;
* due items fire in time order; a stage entry and a series step due at the same moment fire
  stage first, which ends the old series (its step is cancelled, not sent);
* activity at or after the current stage's entry returns the customer to ``active`` and starts
  a new episode; activity that happened before it (a late event) updates the facts but does not
  undo a lapse that was already acted on, unless it retracts the stage's trigger (the policy's
  ``late_events``: ``streams.core.retraction``);
* a purchase is checked for a conversion after what was due before it fired and before it ends
  the lapse; an email event about one of the campaign's messages (its ``message_id``) is
  credited to that message (``streams.core.attribution``);
* a profile is not activity: it fires what is due before it, then updates consent, channels,
  time zone and locale (the newest profile wins; of two with the same time, the later one, but
  consent only where both give it).  Given the time (``now``), a profile dated more than
  ``profile_skew`` ahead counts as dated then, so one from the future cannot block later ones;
* given where an event came from (``Position``), an input record applied before is not applied
  again, however long ago (``streams.model.positions``); redeliveries within the latest few
  events are also recognised by (kind, event id), but an opt-out is applied all the same;
* catching up (``catch_up``, the policy's, else the caller's default): when the time given
  (an event's, or ``advance``'s ``now``) is past several due items at once, ``all`` fires
  each in turn, as if it had been on time (a backtest, an event-time replay: history
  re-enacted).  ``latest`` enters only the stage the customer is in by then: a stage that a
  later one, also due by then, supersedes gets no trigger, and every step of a superseded
  stage (the current one's or a skipped one's) due before the next entry is a ``caught_up``
  skip, never a message; so is a step of the stage they end in whose message expired before
  then.  The stage a customer is in at a given time is ``stage_at``;
* an erasure ends everything at once: no records but the ``Erased`` one, and the state becomes
  a marker with nothing personal in it; the customer's events from before the erasure are
  ignored, and one after it starts them afresh.  The marker is due ``erasure_grace`` after the
  erasure was applied (on the caller's clock): ``advance`` then says it is to be forgotten,
  and the caller deletes the customer's key.

How a due step goes out (holdout, channel, caps, quiet hours) is ``streams.core.delivery``'s part;
what the decisions are written down as is the recorder's (``streams.core.recorders``).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import msgspec

from streams.model.activity import NEVER, CustomerActivity, opts_out
from streams.core.attribution import Attributor
from streams.core.controls.channel_book import ChannelBook
from streams.core.series import PlannedStep, Series
from streams.core.delivery import Delivery
from streams.model.events import AnyInput, EmailEngagement, Erasure, Feedback, Profile, Purchase
from streams.model.positions import Position
from streams.core.lifecycle import ACTIVE, Entry, Lifecycle
from streams.policy.sections import CatchUp, Policy
from streams.core.recorders import FULL, Recorder
from streams.core.retraction import Retractor
from streams.model.records import STAGES, Erased, Record, Stage, erasure_id, to_datetime

SUNSET = STAGES.index("sunset")
PROFILE_SKEW = 300.0  # seconds a profile may be dated ahead of "now" (the runtime's setting overrides it)
ERASURE_GRACE = 3600.0  # seconds an erasure marker is kept (the runtime's setting overrides it)
_NOTHING: tuple[Record, ...] = ()


class Result(msgspec.Struct, frozen=True, gc=False):
    """The customer's state after a call (the same object, mutated, when one was given, unless an
    erasure replaced it with its marker) and the records emitted, in order (``Record``s, or what
    the engine's recorder makes of them)."""

    state: CustomerActivity
    records: tuple[Record, ...] = _NOTHING
    duplicate: bool = False  # the event was a redelivery and changed nothing
    forgotten: bool = False  # an erasure marker whose grace is over: the caller deletes the customer's key


class Replayed(NamedTuple):
    """A customer's state after a run of their events, the records emitted, in order, and how
    many of the events were redeliveries (which changed nothing)."""

    state: CustomerActivity
    records: list[Record]
    duplicates: int


class Engine:
    """Runs a policy for any number of customers; holds no per-customer state itself.

    ``recorder`` writes the decisions down: full records unless the caller needs less.
    ``profile_skew``: how far ahead of the caller's ``now`` a profile's time counts.
    ``erasure_grace``: how long an erasure's marker is kept before the customer is forgotten.
    ``catch_up``: how to catch up when the policy does not say (``latest`` on the wall clock,
    where messages go to real people; ``all`` where history is re-enacted).
    """

    def __init__(
        self,
        policy: Policy,
        recorder: Recorder[Any] = FULL,
        *,
        profile_skew: float = PROFILE_SKEW,
        erasure_grace: float = ERASURE_GRACE,
        catch_up: CatchUp = "all",
    ) -> None:
        self.policy = policy
        self.catch_up: CatchUp = policy.catch_up or catch_up
        self.profile_skew = profile_skew
        self.erasure_grace = erasure_grace
        self.lifecycle = Lifecycle(policy)
        self.series = Series(policy)
        self.recorder = recorder
        channels = ChannelBook(policy.channels)
        self.attribution = Attributor(policy, self.series, channels, recorder)
        self.delivery = Delivery(policy, self.series, channels, self.attribution, recorder)
        self.retractor = Retractor(policy, self.lifecycle, self.series, self.attribution, recorder, self.catch_up)

    def apply(self, customer_id: str, state: CustomerActivity | None, event: AnyInput) -> Result:
        """Fire what is due before the event, then fold the event in."""
        return self.apply_at(customer_id, state, event, event.occurred_at.timestamp())

    def apply_at(
        self,
        customer_id: str,
        state: CustomerActivity | None,
        event: AnyInput,
        at: float,
        position: Position | None = None,
        now: float | None = None,
        applied_at: float | None = None,
    ) -> Result:
        """``apply`` for a caller that already knows the event's time in epoch seconds (and,
        from Kafka, where the event came from, the real time and the scheduler's time it is
        applied at)."""
        state, records, duplicates = self.replay(customer_id, state, (event,), (at,), (position,), now, applied_at)
        return Result(state, tuple(records) if records else _NOTHING, duplicates == 1)

    def replay(
        self,
        customer_id: str,
        state: CustomerActivity | None,
        events: Sequence[AnyInput],
        times: Sequence[float],
        positions: Sequence[Position | None] | None = None,
        now: float | None = None,
        applied_at: float | None = None,
    ) -> Replayed:
        """``apply_at`` of each of a customer's events in turn (``times``: theirs; ``positions``:
        where each came from, if known), in one call; ``state`` None: a customer seen for the
        first time (with at least one event).  ``now``: the real time, which bounds how far ahead
        a profile counts; ``applied_at``: the time on the clock that later calls ``advance``,
        from which an erasure's grace runs (never earlier than the erasure itself).

        This is the engine's one way of applying events: the stream applies them one at a time,
        a backtest each customer's whole history at once, which spares it most of the per-event
        cost: redeliveries are looked for once for the whole run (``CustomerActivity.see_all``),
        and how near an active customer is to lapsing only when an event may have come near it.
        """
        if state is None:
            state = CustomerActivity.starting(times[0])
        records: list[Record] = []
        duplicates = 0
        # Profiles and erasures are not deduped by id: the newest wins (a redelivery is applied
        # again, to no effect).  An erasure empties the ring: it needs the one-by-one path.
        none_redelivered = False
        if positions is None:  # a backtest's run
            by_id = [event for event in events if event.__class__ is not Profile]
            none_redelivered = not any(event.__class__ is Erasure for event in by_id) and state.see_all(by_id)
        lifecycle, attribution = self.lifecycle, self.attribution
        last_activity, quiet = lifecycle.last_activity, lifecycle.quiet_until
        predictive = lifecycle.predictive
        habits = self.delivery.send_times
        observe = habits.observe if habits.learning else None  # habits are counted only if some step is timed by them
        # An active customer lapses no sooner than this: "last" times only move forward, and
        # under a predictive trigger it is found again after each purchase.
        quiet_until = quiet(state, last_activity(state))
        for index, (event, at) in enumerate(zip(events, times)):
            kind = event.__class__
            position = positions[index] if positions is not None else None
            if position is not None and state.replayed(position):
                duplicates += 1
                continue
            if kind is Erasure:
                records.extend(self.delivery.leave_audiences(customer_id, state, at))
                records.append(self._erased(customer_id, state, at))
                forget_at = max(at, applied_at if applied_at is not None else at) + self.erasure_grace
                state = CustomerActivity.erased(at, state.applied, forget_at)
                quiet_until = quiet(state, last_activity(state))
                continue
            if state.erased_at is not None and at <= state.erased_at:
                continue  # the erased customer's own, arriving late
            if state.in_history(event, at):
                duplicates += 1
                continue
            if not none_redelivered and kind is not Profile and state.seen(event):
                duplicates += 1
                if not opts_out(event):
                    continue
            if kind is Profile and now is not None:
                at = min(at, now + self.profile_skew)
            if state.is_erased():
                state.first_seen = state.stage_entered_at = at
                state.forget_at = None
            # Fire what was due before the event: a lapsed customer may always have something due.
            if state.stage != ACTIVE:
                self._fire(customer_id, state, at, False, records)
            elif at > quiet_until:
                quiet_until = quiet(state, last_activity(state))
                if at > quiet_until:
                    self._fire(customer_id, state, at, False, records)
            if state.touch_stage and type(event) is Purchase:
                outcome = attribution.conversion(customer_id, state, event, at)
                if outcome is not None:
                    records.append(outcome)
            elif (type(event) is EmailEngagement or type(event) is Feedback) and state.messages:
                engaged = attribution.engagement(customer_id, state, event, at)
                if engaged is not None:
                    records.append(engaged)
            if state.stage != ACTIVE and at < state.stage_entered_at:
                records.extend(self.retractor.retract(customer_id, state, event, at, applied_at))
            state.record(event, at)
            if predictive and kind is Purchase:
                quiet_until = quiet(state, last_activity(state))
            if observe is not None:
                observe(state, event, at)
            if state.stage != ACTIVE and at >= state.stage_entered_at and lifecycle.is_activity(event):
                if state.audiences:
                    records.extend(self.delivery.leave_audiences(customer_id, state, at))
                state.stage = ACTIVE
                state.stage_entered_at = at
                state.step = 0
                state.deferred_to = NEVER
                state.episode += 1
        return Replayed(state, records, duplicates)

    @staticmethod
    def _erased(customer_id: str, state: CustomerActivity, at: float) -> Erased:
        """The record of the customer's erasure at ``at``, in the lifecycle position it ends."""
        return Erased(
            erasure_id=erasure_id(customer_id, at),
            customer_id=customer_id,
            erased_at=to_datetime(at),
            stage=STAGES[state.stage],
            episode=state.episode,
        )

    def advance(self, customer_id: str, state: CustomerActivity, now: float) -> Result:
        """Fire every stage entry and series step due at or before ``now``; an erasure marker
        fires nothing, and once due it is to be forgotten."""
        if state.is_erased():
            return Result(state, forgotten=state.forget_at is not None and state.forget_at <= now)
        records: list[Record] = []
        self._fire(customer_id, state, now, True, records)
        return Result(state, tuple(records) if records else _NOTHING)

    def next_due(self, state: CustomerActivity) -> float | None:
        """When this customer next enters a stage or has a step due, if nothing happens before
        (an erasure marker: when it is to be forgotten)."""
        if state.is_erased():
            return state.forget_at
        upcoming = self._upcoming(state, self.lifecycle.last_activity(state))
        return upcoming[0] if upcoming is not None else None

    def _upcoming(self, state: CustomerActivity, last_activity: float) -> tuple[float, Entry | PlannedStep] | None:
        """The earliest due item as (time, stage entry) or (time, step of the series); the stage first on a tie."""
        entry = self.lifecycle.next_entry(state, last_activity)
        step = self.series.next_step(state)
        if step is not None:
            step_due = state.deferred_to if state.deferred_to != NEVER else state.stage_entered_at + step.after
            if entry is None or step_due < entry[1]:
                return step_due, step
        return (entry[1], entry) if entry is not None else None

    def stage_at(self, state: CustomerActivity, at: float) -> Stage | None:
        """The stage the customer is in at ``at`` if nothing happens before (None: erased): the
        stage ``advance(at)`` leaves them in, whichever way it catches up."""
        return None if state.is_erased() else STAGES[self.lifecycle.stage_at(state, at)]

    def _fire(self, customer_id: str, state: CustomerActivity, limit: float, inclusive: bool, records: list[Record]) -> None:
        """Fire due items up to ``limit`` in time order, mutating ``state``, onto ``records``."""
        last_activity = self.lifecycle.last_activity(state)
        if self.catch_up == "all":
            self._fire_all(customer_id, state, limit, inclusive, records, last_activity)
            return
        run = None  # what a stage's steps share (``Delivery.run``), derived once a stage
        while (upcoming := self._upcoming(state, last_activity)) is not None:
            due, item = upcoming
            if not _by(due, limit, inclusive):
                break
            if self._passed(state, item, due, last_activity, limit, inclusive):
                records.extend(self._caught_up(customer_id, state, item, due))
                run = None
            elif isinstance(item, PlannedStep):
                if run is None:
                    run = self.delivery.run(customer_id, state)
                self.delivery.step(run, state, item, due, last_activity, records)
            else:
                self._enter(customer_id, state, item, last_activity, records)
                run = None

    def _fire_all(
        self, customer_id: str, state: CustomerActivity, limit: float, inclusive: bool, records: list[Record], last_activity: float
    ) -> None:
        """``_fire`` catching up ``all``: each stage's steps in turn up to its next entry, then the
        entry.  The next entry moves only when a stage is entered, so it is found once a stage
        rather than once a step, and what the steps of a stage share (``Delivery.run``) is
        derived once too (a lapsed customer's series is most of a sparse log's work)."""
        next_entry, steps_of, delivery = self.lifecycle.next_entry, self.series.steps, self.delivery
        while True:
            entry = next_entry(state, last_activity)
            run = None
            steps = steps_of(state.stage)
            while state.step < len(steps):
                step = steps[state.step]
                due = state.deferred_to if state.deferred_to != NEVER else state.stage_entered_at + step.after
                if entry is not None and due >= entry[1]:
                    break  # the stage first on a tie: entering it ends this series
                if due > limit or (due == limit and not inclusive):  # not ``_by``: a call a step costs
                    return
                if run is None:
                    run = delivery.run(customer_id, state)
                delivery.step(run, state, step, due, last_activity, records)
            if entry is None or not _by(entry[1], limit, inclusive):
                return
            self._enter(customer_id, state, entry, last_activity, records)

    def _passed(
        self, state: CustomerActivity, item: Entry | PlannedStep, due: float, last_activity: float, limit: float, inclusive: bool
    ) -> bool:
        """Whether the due item is one ``catch_up: latest`` passes over at ``limit``: a stage entry
        that the next one, also due by then, supersedes; a step of a stage so superseded, a step
        whose message expired before ``limit``, or one the series' next step, also due by then,
        supersedes (a customer caught up gets the latest message of their stage, not a burst)."""
        if not isinstance(item, PlannedStep):
            following = self.lifecycle.entry_after(state, item[0], due, last_activity)
            return following is not None and _by(following[1], limit, inclusive)
        entry = self.lifecycle.next_entry(state, last_activity)
        following_step = self.series.step(state.stage, item.index + 1)
        return (
            (entry is not None and _by(entry[1], limit, inclusive))
            or state.stage_entered_at + item.after + item.expires_after < limit
            or (following_step is not None and _by(state.stage_entered_at + following_step.after, limit, inclusive))
        )

    def _caught_up(self, customer_id: str, state: CustomerActivity, item: Entry | PlannedStep, at: float) -> list[Record]:
        """Pass over a due item: a superseded stage is entered without a trigger (its steps then
        come due, to be passed over in turn), a passed step is skipped as ``caught_up``."""
        if isinstance(item, PlannedStep):
            return [self.delivery.catch_up(customer_id, state, item, at)]
        _start_stage(state, item[0], at)
        return []

    def _enter(self, customer_id: str, state: CustomerActivity, entry: Entry, last_activity: float, records: list[Record]) -> None:
        """The customer makes ``entry``: its trigger, and for sunset the skips of every step the
        sunset stops (entering another stage ends the old series silently, as activity does),
        onto ``records``."""
        stage, at, reason = entry
        if stage == SUNSET:
            records += [*self.delivery.cancel_remaining(customer_id, state, at), *self.delivery.leave_audiences(customer_id, state, at)]
        _start_stage(state, stage, at)
        self.attribution.touch_trigger(state, at)
        group, cause = self.series.assignment(customer_id, stage), self.lifecycle.cause(state, reason)
        records.append(self.recorder.trigger(customer_id, state, last_activity, group, cause))


def _by(due: float, limit: float, inclusive: bool) -> bool:
    """Whether something due at ``due`` fires by ``limit`` (at it too when ``inclusive``)."""
    return due < limit or (inclusive and due == limit)


def _start_stage(state: CustomerActivity, stage: int, at: float) -> None:
    """The customer is in ``stage`` from ``at``, at the start of its series (the old one ends)."""
    state.stage, state.stage_entered_at, state.step, state.deferred_to = stage, at, 0, NEVER
