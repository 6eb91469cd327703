"""Delivering one due step: holdout, consent and fallback, frequency caps, quiet hours, expiry.

The engine calls ``Delivery.step`` when a step of the customer's series is due, with what the
series' steps share until the customer's next event, derived once (``Delivery.run``: a lapsed
customer's whole series is decided between two events, or after their last one, in one pass).
The answer is the records to publish, and the state is moved on: the step pointer advances when the step
is settled (sent, held out or skipped), or ``deferred_to`` is set when a cap or quiet hours
hold it back, so the scheduler comes back for it then.  Deferring inside the engine, rather
than publishing a command with a later ``send_after``, keeps a deferred step cancellable:
a purchase during the wait ends the series and the message is never sent.

A step is never decided before the one before it: one held back holds the rest of the series
back too, whether it was then sent or skipped (the command's ``due_at`` and ``send_after`` show
by how much).

Order of the checks, each one final: holdout (record what would have been sent) -> channel
(consent, reachability, fallback) -> send time (the customer's habitual hour), then caps and
quiet hours on top of it (defer within the expiry, or skip).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec

from streams.model.activity import NEVER, CustomerActivity
from streams.core.attribution import Attributor
from streams.core.controls.assignment import Assignment
from streams.core.series import PlannedStep, SendPlan, SentMessage, Series, StepDecision
from streams.core.controls.caps import FrequencyCaps
from streams.core.controls.channel_book import ChannelBook
from streams.model.records import ChannelPayload, SkipAction, SkipReason
from streams.policy.sections import Policy
from streams.core.controls.quiet_hours import QuietWindow
from streams.core.controls.reachability import Reachability
from streams.core.controls.send_time import Habit, SendTimes
from streams.core.controls.tiers import ValueTiers
from streams.core.recorders import Recorder


class Delivery:
    def __init__(self, policy: Policy, series: Series, channels: ChannelBook, attribution: Attributor, recorder: Recorder[Any]) -> None:
        self.series = series
        self.attribution = attribution
        self.recorder = recorder
        self.caps = FrequencyCaps(policy, channels)
        self.capped = bool(self.caps)  # some cap applies to some message
        self.defer_when_capped = policy.caps.when_capped == "defer"
        self.channels = channels
        self.quiet_hours = QuietWindow(policy.quiet_hours, channels)
        self.reachability = Reachability(policy.channels, channels)
        self.tiers = ValueTiers(policy.tiers)
        self.send_times = SendTimes(policy)
        self._routes: dict[tuple[str, int, int], Route] = {}  # by planned channel, allowed channels, preferred one

    def run(self, customer_id: str, state: CustomerActivity) -> SeriesRun:
        """What holds for every step of the customer's current series until their next event."""
        group = self.series.assignment(customer_id, state.stage)
        tier = self.tiers.of(state)
        habit = self.send_times.habit(state) if self.send_times.habitual(state.stage, group.variant) else None
        return SeriesRun(customer_id, group, tier, self.attribution.tier_code(tier), habit)

    def step(
        self, run: SeriesRun, state: CustomerActivity, step: PlannedStep, at: float, last_activity: float, records: list[Any]
    ) -> None:
        """Settle or defer ``step``, due at ``at`` (its planned time, or the time it was deferred
        to), onto ``records``; ``run``: made for this series since the customer's latest event."""
        planned = state.stage_entered_at + step.after
        group = run.group
        if group.holdout:
            self._settle(state, at, sent=True)
            records.append(self._skip(run, state, step, planned, at, "holdout", "held_out", step.channel))
            return
        route = run.routes.get(step.channel)
        if route is None:
            route = self._route(run, state, step.channel)
        channel, reason = route.channel, route.reason
        if channel is None:
            assert reason is not None  # a step that goes nowhere always says why
            self._settle(state, at, sent=False)
            records.append(self._skip(run, state, step, planned, at, reason, "skipped"))
            return
        timed = self.send_times.target(run.habit, state, planned, at, step.expires_after) if run.habit is not None else at
        send_at, held_by = self._send_time(state, timed, route.code) if route.held_back else (timed, None)
        if held_by is None and timed > at:
            held_by = "send_time"
        if held_by == "capped" and not self.defer_when_capped:
            self._settle(state, at, sent=False)
            records.append(self._skip(run, state, step, planned, at, "capped", "skipped", channel))
            return
        if send_at > planned + step.expires_after:
            self._settle(state, at, sent=False)
            records.append(self._skip(run, state, step, planned, at, "expired", "skipped", channel))
            return
        if held_by is not None:
            state.deferred_to = send_at
            records.append(self._skip(run, state, step, planned, at, held_by, "deferred", channel, send_at))
            return
        plan = SendPlan(planned, at, channel, group, run.tier, route.payload)
        records.append(self.recorder.command(run.customer_id, state, step, last_activity, plan))
        code = route.code
        if self.capped:
            self.caps.record(state.sends, at, code, state.stage)
        self.attribution.remember_message(state, step.index, code, run.tier_code, at)
        if route.audience and all(joined[0] != code for joined in state.audiences):
            state.audiences.append([code, state.stage, step.index, state.episode])
        self._settle(state, at, sent=True)
        if reason is not None:
            records.append(self._skip(run, state, step, planned, at, reason, "fallback", channel))

    def _route(self, run: SeriesRun, state: CustomerActivity, planned: str) -> Route:
        """Where a step planned for ``planned`` goes in this run, and what that channel needs, kept
        in ``run``; made once for each planned channel, channels allowed and preferred channel
        that customers have (what ``Reachability.choose`` asks), not once a run."""
        key = (planned, self.reachability.allowed(state), state.preferred_channel)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = self._new_route(*key)
        run.routes[planned] = route
        return route

    def _new_route(self, planned: str, allowed: int, preferred: int) -> Route:
        channel, reason = self.reachability.choose(allowed, preferred, planned)
        if channel is None:
            return Route(None, reason, 0, None, False, False)
        code = self.channels.codes[channel]
        held_back = self.capped or self.quiet_hours.applies(code)
        return Route(channel, reason, code, self.channels.payloads[channel], self.channels.audience(channel) is not None, held_back)

    def _skip(
        self,
        run: SeriesRun,
        state: CustomerActivity,
        step: PlannedStep,
        planned: float,
        at: float,
        reason: SkipReason,
        action: SkipAction,
        channel: str | None = None,
        deferred_to: float | None = None,
    ) -> Any:
        """The record of ``step``, planned at ``planned``, not going out as planned at ``at``."""
        decided = StepDecision(run.customer_id, state, step, planned, at, run.group.variant)
        return self.recorder.skip(decided, reason, action, channel, deferred_to)

    def catch_up(self, customer_id: str, state: CustomerActivity, step: PlannedStep, at: float) -> Any:
        """``step``, due at ``at``, passed while nobody was looking and is not sent: its skip."""
        planned = state.stage_entered_at + step.after
        decided = StepDecision(customer_id, state, step, planned, at, self.series.assignment(customer_id, state.stage).variant)
        self._settle(state, at, sent=False)
        return self.recorder.skip(decided, "caught_up", "skipped")

    def cancel_remaining(self, customer_id: str, state: CustomerActivity, at: float) -> list[Any]:
        """Sunset: the steps of the current series that will now never be sent, as skips."""
        group, entered = self.series.assignment(customer_id, state.stage), state.stage_entered_at
        return [
            self.recorder.skip(StepDecision(customer_id, state, step, entered + step.after, at, group.variant), "sunset", "skipped")
            for step in self.series.remaining(state)
        ]

    def leave_audiences(self, customer_id: str, state: CustomerActivity, at: float) -> list[Any]:
        """The lapse ends at ``at`` (the customer came back, reached sunset or was erased): a
        removal command for each ads audience it added them to.  An audience channel the policy
        no longer has cannot be named, and is left to the audience's own expiry."""
        records = []
        for code, stage, index, episode in state.audiences:
            step, channel = self.series.step(stage, index), self.channels.names.get(code)
            audience = self.channels.audience(channel) if channel is not None else None
            if step is None or channel is None or audience is None:
                continue
            sent = SentMessage(stage, episode, step, channel, None, at, self.series.assignment(customer_id, stage).variant)
            records.append(self.recorder.removal(customer_id, state, sent, msgspec.structs.replace(audience, action="remove"), at))
        state.audiences = []
        return records

    def _send_time(self, state: CustomerActivity, at: float, code: int) -> tuple[float, SkipReason | None]:
        """When a message on the channel of ``code`` may go out, and what holds it back (None: nothing).

        Caps only loosen as time passes, so moving out of quiet hours after the caps keeps
        them satisfied: two steps reach a time both allow.
        """
        uncapped = self.caps.allowed_from(state.sends, at, code, state.stage) if self.capped else at
        send_at = self.quiet_hours.next_allowed(uncapped, state.time_zone, code)
        if uncapped > at:
            return send_at, "capped"
        return send_at, "quiet_hours" if send_at > at else None

    def _settle(self, state: CustomerActivity, at: float, sent: bool) -> None:
        """The step is done, decided at ``at``: on to the next one.  ``sent``: a message (or, for
        the holdout, the message that would have been) went out at ``at``.

        Steps keep their order and a series never goes back in time: when this step was settled
        late (it had been deferred), a next step planned before ``at`` is decided at ``at``, so no
        step is judged against caps before an earlier one was sent, nor against quiet hours in a
        time zone the customer only gave after the time it is judged at.
        """
        state.step += 1
        state.deferred_to = NEVER
        if sent:
            self.attribution.touch_message(state, at)
        following = self.series.next_step(state)
        if following is not None and state.stage_entered_at + following.after < at:
            state.deferred_to = at


class Route(NamedTuple):
    """Where a step planned for one channel goes in a series run (``channel`` None: nowhere, for
    ``reason``; else ``reason`` None unless it is a fallback), and that channel's code, payload,
    whether it adds the customer to an ads audience and whether caps or quiet hours can hold it back."""

    channel: str | None
    reason: SkipReason | None
    code: int
    payload: ChannelPayload | None
    audience: bool
    held_back: bool


class SeriesRun:
    """What stays the same while a customer's series runs with no event of theirs in between:
    their group in the campaign, their value tier (and its code in a remembered message), the
    habit the campaign times their steps by if it does, and where each planned channel goes (consent,
    reachability and fallback change only with events: ``Delivery._route``).  The engine makes one
    a stage per catch-up, so a lapsed customer's steps are decided without deriving these again
    for every step."""

    __slots__ = ("customer_id", "group", "tier", "tier_code", "habit", "routes")

    def __init__(self, customer_id: str, group: Assignment, tier: str | None, tier_code: int, habit: Habit | None) -> None:
        self.customer_id = customer_id
        self.group = group
        self.tier = tier
        self.tier_code = tier_code
        self.habit = habit  # None: the campaign does not time steps by habit
        self.routes: dict[str, Route] = {}
