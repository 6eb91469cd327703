"""Campaign series: the steps a stage entry starts, and the records a stage entry or step produces.

Entering a stage starts its campaign; step ``i`` is due ``after_days`` after the stage was
entered.  Activity or entering the next stage ends the series at once (the engine resets the
step pointer), so pending steps are never sent.  Every record is a pure function of the state
and the due time, so a replay produces the same ids and payloads byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.activity import NEVER, CustomerActivity
from streams.commands import (
    Channel,
    MessageCommand,
    Offer,
    Personalisation,
    Trigger,
    TriggerStage,
    command_id,
    to_datetime,
    trigger_id,
)
from streams.lifecycle import DAY, STAGES
from streams.policy import Policy


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A campaign step compiled to seconds and ready-made command parts."""

    index: int
    after: float  # seconds after the stage was entered
    channel: Channel
    template: str
    offer: Offer | None
    expires_after: float  # seconds the message stays worth sending


class Series:
    """Every campaign of a policy, indexed by stage code."""

    def __init__(self, policy: Policy) -> None:
        self._steps: dict[int, tuple[PlannedStep, ...]] = {
            STAGES.index(stage): tuple(
                PlannedStep(
                    index=index,
                    after=step.after_days * DAY,
                    channel=step.channel,
                    template=step.template,
                    offer=step.offer.to_offer() if step.offer else None,
                    expires_after=campaign.expiry_days(step) * DAY,
                )
                for index, step in enumerate(campaign.steps)
            )
            for stage, campaign in policy.campaigns.items()
        }

    def next_step(self, state: CustomerActivity) -> PlannedStep | None:
        """The customer's next step in their current stage's campaign, if any remains."""
        steps = self._steps.get(state.stage)
        if steps is None or state.step >= len(steps):
            return None
        return steps[state.step]


def campaign_of(stage: TriggerStage) -> str:
    """The campaign a stage starts is named after the stage (its key under ``campaigns``)."""
    return stage


def trigger(customer_id: str, state: CustomerActivity, last_activity: float) -> Trigger:
    """The record of the customer having just entered ``state.stage`` (at ``state.stage_entered_at``)."""
    stage: TriggerStage = STAGES[state.stage]  # type: ignore[assignment]
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
    )


def command(customer_id: str, state: CustomerActivity, step: PlannedStep, last_activity: float, due: float) -> MessageCommand:
    """The message for ``step`` of the customer's current campaign, due at ``due``."""
    stage: TriggerStage = STAGES[state.stage]  # type: ignore[assignment]
    campaign = campaign_of(stage)
    due_at = to_datetime(due)
    return MessageCommand(
        command_id=command_id(customer_id, campaign, step.index, state.episode),
        customer_id=customer_id,
        channel=step.channel,
        campaign=campaign,
        stage=stage,
        step=step.index,
        episode=state.episode,
        template=step.template,
        offer=step.offer,
        personalisation=personalisation(state, last_activity, due),
        due_at=due_at,
        send_after=due_at,
        expires_at=to_datetime(due + step.expires_after),
    )


def personalisation(state: CustomerActivity, last_activity: float, at: float) -> Personalisation:
    """What a template may say to the customer at ``at``."""
    return Personalisation(
        days_inactive=_days_between(last_activity, at),
        purchase_count=state.purchase_count,
        total_spend=round(state.total_spend, 2),
        last_purchase_at=to_datetime(state.last_purchase) if state.last_purchase != NEVER else None,
        last_purchase_category=state.last_category,
        top_categories=state.top_categories(),
    )


def _days_between(earlier: float, later: float) -> int:
    return max(0, int((later - earlier) // DAY))
