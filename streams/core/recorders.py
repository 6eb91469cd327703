"""Recorders: how the engine writes its decisions down.

The engine decides: who enters a stage, which step goes out on which channel or is skipped
and why, which purchase converts.  A ``Recorder`` turns each decision into the record that
stands for it.  The stream processor publishes ``FULL`` records, with deterministic ids,
timestamps and personalisation: every record is a pure function of the state and the due
time, so a replay produces the same ids and payloads byte for byte.  A backtest that only
counts records would spend most of its replay time making payloads that nobody reads, so it
gives the engine a recorder that keeps only what its report counts (``streams.backtest.run``).
The decisions are the same either way: the same engine code makes them, and only the last
step, writing them down, differs.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, TypeVar

from msgspec.structs import replace

from streams.core.controls.assignment import Assignment
from streams.core.lifecycle import DAY, EntryCause
from streams.core.series import PlannedStep, SendPlan, SentMessage, StepDecision, campaign_of
from streams.model.activity import NEVER, CustomerActivity
from streams.model.events import AnyInput, EngagementAction, FeedbackReason, Purchase
from streams.model.records import (
    STAGES,
    Audience,
    Engagement,
    MessageCommand,
    Outcome,
    Personalisation,
    Record,
    Retraction,
    SentInError,
    Skip,
    SkipAction,
    SkipReason,
    Trigger,
    command_id,
    engagement_id,
    outcome_id,
    retraction_id,
    removal_id,
    skip_id,
    to_datetime,
    trigger_id,
    trigger_stage,
)

R_co = TypeVar("R_co", covariant=True)
REMOVAL_VALIDITY = 30 * DAY  # how long a sender may still apply an audience removal (it should, whenever it can)


class Recorder(Protocol[R_co]):
    """What the engine calls, at the moment of each decision, with the state as it is then."""

    def trigger(self, customer_id: str, state: CustomerActivity, last_activity: float, group: Assignment, cause: EntryCause) -> R_co:
        """The customer has just entered ``state.stage``, for ``cause``."""
        ...

    def command(
        self, customer_id: str, state: CustomerActivity, step: PlannedStep, last_activity: float, plan: SendPlan
    ) -> R_co:
        """``step`` of the current campaign goes out as ``plan`` says."""
        ...

    def skip(
        self, decision: StepDecision, reason: SkipReason, action: SkipAction, channel: str | None = None, deferred_to: float | None = None
    ) -> R_co:
        """The step ``decision`` is about does not go out as planned (see ``streams.model.records.Skip``)."""
        ...

    def outcome(
        self, customer_id: str, state: CustomerActivity, purchase: Purchase, at: float, group: Assignment, sent: SentMessage | None
    ) -> R_co:
        """``purchase``, made at ``at``, converts the customer's latest touch; ``sent``: the
        campaign's message it is credited to (None: none went out, e.g. for the holdout)."""
        ...

    def engagement(
        self, customer_id: str, sent: SentMessage, action: EngagementAction, at: float, reason: FeedbackReason | None
    ) -> R_co:
        """The customer did ``action`` with the message ``sent`` at ``at``, for the first time
        (``reason``: a feedback answer's)."""
        ...

    def cancel(self, decision: StepDecision, active_at: float) -> R_co:
        """The step ``decision`` is about will never go out: its series was retracted at
        ``decision.decided_at`` by activity at ``active_at``."""
        ...

    def retraction(
        self, customer_id: str, state: CustomerActivity, late: LateEvent, group: Assignment, cancelled: list[int], sent: list[SentMessage]
    ) -> R_co:
        """The trigger of ``state.stage`` (``state`` as it was before the retraction), which put the
        customer in ``group``, is withdrawn because of ``late``; ``cancelled``: the indexes of its
        unsent steps; ``sent``: its messages sent in error."""
        ...

    def removal(self, customer_id: str, state: CustomerActivity, sent: SentMessage, audience: Audience, at: float) -> R_co:
        """The customer leaves ``audience``, which the message ``sent`` added them to, at ``at``
        (their lapse ended: they came back, reached sunset or were erased)."""
        ...


class LateEvent(NamedTuple):
    """An event that arrived after a trigger it would have prevented, and when it was applied."""

    event: AnyInput
    at: float  # its own time
    retracted_at: float  # when it was applied (the caller's clock), the moment of the retraction


def trigger(customer_id: str, state: CustomerActivity, last_activity: float, group: Assignment, cause: EntryCause) -> Trigger:
    """The record of the customer having just entered ``state.stage`` (at ``state.stage_entered_at``)."""
    stage = trigger_stage(state.stage)
    entered = state.stage_entered_at
    return Trigger(
        trigger_id=trigger_id(customer_id, stage, state.episode),
        customer_id=customer_id,
        stage=stage,
        campaign=campaign_of(stage),
        episode=state.episode,
        fired_at=to_datetime(entered),
        last_activity_at=to_datetime(last_activity),
        days_inactive=_days_between(last_activity, entered),
        variant=group.variant,
        holdout=group.holdout,
        reason=cause.reason,
        p_alive=cause.p_alive,
    )


def command(
    customer_id: str, state: CustomerActivity, step: PlannedStep, last_activity: float, plan: SendPlan
) -> MessageCommand:
    """The message for ``step`` of the customer's current campaign."""
    stage = trigger_stage(state.stage)
    campaign = campaign_of(stage)
    variant = plan.group.variant
    return MessageCommand(
        command_id=command_id(customer_id, campaign, step.index, state.episode),
        customer_id=customer_id,
        channel=plan.channel,
        campaign=campaign,
        stage=stage,
        step=step.index,
        episode=state.episode,
        template=step.template_for(variant),
        offer=step.offer_for(variant, plan.tier),
        personalisation=personalisation(state, last_activity, plan.send_at, plan.tier),
        due_at=to_datetime(plan.due),
        send_after=to_datetime(plan.send_at),
        expires_at=to_datetime(plan.due + step.expires_after),
        variant=variant,
        feedback_request=step.feedback_request,
        survey_link=step.survey_link(command_id(customer_id, campaign, step.index, state.episode), campaign, variant),
        payload=plan.payload,
    )


def removal(customer_id: str, state: CustomerActivity, sent: SentMessage, audience: Audience, at: float) -> MessageCommand:
    """The command that takes the customer out of the audience the message ``sent`` added them to:
    on the same channel, about the same step, with its own id and the action ``remove``."""
    stage = trigger_stage(sent.stage)
    campaign = campaign_of(stage)
    return MessageCommand(
        command_id=removal_id(command_id(customer_id, campaign, sent.step.index, sent.episode)),
        customer_id=customer_id,
        channel=sent.channel,
        campaign=campaign,
        stage=stage,
        step=sent.step.index,
        episode=sent.episode,
        template=sent.step.template_for(sent.variant),
        personalisation=personalisation(state, at, at, None),
        due_at=to_datetime(at),
        send_after=to_datetime(at),
        expires_at=to_datetime(at + REMOVAL_VALIDITY),
        variant=sent.variant,
        payload=audience,
    )


def skip(
    decision: StepDecision, reason: SkipReason, action: SkipAction, channel: str | None = None, deferred_to: float | None = None
) -> Skip:
    """The record of a step not going out as planned (see ``streams.model.records.Skip``)."""
    customer_id, state, step, due, decided_at, variant = decision
    stage = trigger_stage(state.stage)
    campaign = campaign_of(stage)
    planned_id = command_id(customer_id, campaign, step.index, state.episode)
    return Skip(
        skip_id=skip_id(planned_id, action, reason, decided_at),
        customer_id=customer_id,
        campaign=campaign,
        stage=stage,
        step=step.index,
        episode=state.episode,
        command_id=planned_id,
        reason=reason,
        action=action,
        planned_channel=step.channel,
        channel=channel,
        template=step.template_for(variant),
        variant=variant,
        due_at=to_datetime(due),
        decided_at=to_datetime(decided_at),
        deferred_to=to_datetime(deferred_to) if deferred_to is not None else None,
    )


def personalisation(state: CustomerActivity, last_activity: float, at: float, tier: str | None) -> Personalisation:
    """What a template may say to the customer at ``at``."""
    return Personalisation(
        days_inactive=_days_between(last_activity, at),
        purchase_count=state.purchase_count,
        total_spend=round(state.total_spend, 2),
        last_purchase_at=to_datetime(state.last_purchase) if state.last_purchase != NEVER else None,
        last_purchase_category=state.last_category,
        top_categories=state.top_categories(),
        value_tier=tier,
        locale=state.locale,
    )


def _days_between(earlier: float, later: float) -> int:
    return max(0, int((later - earlier) // DAY))


def outcome(
    customer_id: str, state: CustomerActivity, purchase: Purchase, at: float, group: Assignment, sent: SentMessage | None
) -> Outcome:
    """The conversion of the customer's latest touch by ``purchase``, made at ``at``, credited to ``sent``."""
    stage = trigger_stage(state.touch_stage)
    campaign = campaign_of(stage)
    return Outcome(
        outcome_id=outcome_id(customer_id, campaign, state.touch_episode),
        customer_id=customer_id,
        campaign=campaign,
        stage=stage,
        episode=state.touch_episode,
        variant=group.variant,
        holdout=group.holdout,
        trigger_id=trigger_id(customer_id, stage, state.touch_episode),
        touched_at=to_datetime(state.touch_at),
        converted_at=to_datetime(at),
        order_id=purchase.order_id,
        revenue=purchase.amount,
        currency=purchase.currency,
        days_to_return=int((at - state.touch_at) // DAY),
        discount_code=purchase.discount_code,
        command_id=command_id(customer_id, campaign, sent.step.index, sent.episode) if sent else None,
        step=sent.step.index if sent else None,
        channel=sent.channel if sent else None,
        offer=sent.offer() if sent else None,
        value_tier=sent.tier if sent else None,
    )


def engagement(
    customer_id: str, sent: SentMessage, action: EngagementAction, at: float, reason: FeedbackReason | None
) -> Engagement:
    """The record of the customer's first ``action`` on the message ``sent``."""
    stage = trigger_stage(sent.stage)
    campaign = campaign_of(stage)
    planned_id = command_id(customer_id, campaign, sent.step.index, sent.episode)
    return Engagement(
        engagement_id=engagement_id(planned_id, action),
        customer_id=customer_id,
        command_id=planned_id,
        campaign=campaign,
        stage=stage,
        step=sent.step.index,
        episode=sent.episode,
        variant=sent.variant,
        channel=sent.channel,
        action=action,
        sent_at=to_datetime(sent.sent_at),
        occurred_at=to_datetime(at),
        reason=reason,
    )


def cancel(decision: StepDecision, active_at: float) -> MessageCommand:
    """The cancel of a step of a retracted series: the command it would have been (on the step's
    planned channel), with ``action: cancel`` and an empty window at the retraction (``MessageCommand``)."""
    customer_id, state, step, due, decided_at, variant = decision
    plan = SendPlan(due, decided_at, step.channel, Assignment(variant, False), None)
    planned = command(customer_id, state, step, active_at, plan)
    return replace(planned, expires_at=planned.send_after, action="cancel")


def retraction(
    customer_id: str, state: CustomerActivity, late: LateEvent, group: Assignment, cancelled: list[int], sent: list[SentMessage]
) -> Retraction:
    """The outcome ``retracted`` of the trigger of ``state.stage``, withdrawn because of ``late``."""
    stage = trigger_stage(state.stage)
    campaign = campaign_of(stage)
    trigger = trigger_id(customer_id, stage, state.episode)
    return Retraction(
        retraction_id=retraction_id(trigger),
        customer_id=customer_id,
        trigger_id=trigger,
        campaign=campaign,
        stage=stage,
        episode=state.episode,
        variant=group.variant,
        holdout=group.holdout,
        fired_at=to_datetime(state.stage_entered_at),
        late_event_type=str(late.event.__struct_config__.tag),
        late_event_id=late.event.event_id,
        late_event_at=to_datetime(late.at),
        retracted_at=to_datetime(late.retracted_at),
        restored_stage=STAGES[0],
        cancelled=[command_id(customer_id, campaign, step, state.episode) for step in cancelled],
        sent_in_error=[_sent_in_error(customer_id, message) for message in sent],
    )


def _sent_in_error(customer_id: str, sent: SentMessage) -> SentInError:
    """A message of a retracted lapse that went out before the retraction."""
    campaign = campaign_of(trigger_stage(sent.stage))
    return SentInError(
        command_id=command_id(customer_id, campaign, sent.step.index, sent.episode),
        campaign=campaign,
        step=sent.step.index,
        variant=sent.variant,
        channel=sent.channel,
        sent_at=to_datetime(sent.sent_at),
    )


class FullRecords:
    """Every decision as the full record the stream publishes (``streams.model.records``)."""

    trigger = staticmethod(trigger)
    command = staticmethod(command)
    skip = staticmethod(skip)
    outcome = staticmethod(outcome)
    engagement = staticmethod(engagement)
    cancel = staticmethod(cancel)
    retraction = staticmethod(retraction)
    removal = staticmethod(removal)


FULL: Recorder[Record] = FullRecords()
