"""Campaign series: the steps a stage entry starts, compiled from the policy.

Entering a stage starts its campaign; step ``i`` is due ``after_days`` after the stage was
entered.  Activity or entering the next stage ends the series at once (the engine resets the
step pointer), so pending steps are never sent.  What a step's decision is written down as
is the recorder's (``streams.core.recorders``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote

from streams.core.controls.assignment import Assigner, Assignment
from streams.core.lifecycle import DAY
from streams.model.activity import CustomerActivity
from streams.model.records import DEFAULT_VARIANT, STAGES, ChannelPayload, Offer
from streams.policy.sections import Campaign, Policy, SeriesStep


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A campaign step compiled to seconds and ready-made command parts."""

    index: int
    after: float  # seconds after the stage was entered
    channel: str
    template: str
    offer: Offer | None
    expires_after: float  # seconds the message stays worth sending
    feedback_request: bool = False
    survey_url: str | None = None  # the feedback request's survey, with placeholders (policy ``survey_url``)
    offers_by_tier: tuple[tuple[str, Offer], ...] = ()
    variants: tuple[tuple[str, str | None, Offer | None], ...] = ()  # (variant, template, offer) overrides

    def template_for(self, variant: str) -> str:
        for name, template, _ in self.variants:
            if name == variant and template is not None:
                return template
        return self.template

    def survey_link(self, command_id: str, campaign: str, variant: str) -> str | None:
        """The survey URL of this step's feedback request for one message, placeholders filled."""
        if self.survey_url is None:
            return None
        parts = {"command_id": command_id, "campaign": campaign, "step": str(self.index), "variant": variant}
        return self.survey_url.format(**{name: quote(value, safe="") for name, value in parts.items()})

    def offer_for(self, variant: str, tier: str | None) -> Offer | None:
        """The variant's own offer, else the tier's, else the step's."""
        for name, _, offer in self.variants:
            if name == variant and offer is not None:
                return offer
        for name, offer in self.offers_by_tier:
            if name == tier:
                return offer
        return self.offer


class Series:
    """Every campaign of a policy, indexed by stage code."""

    def __init__(self, policy: Policy) -> None:
        self._steps: dict[int, tuple[PlannedStep, ...]] = {
            STAGES.index(stage): tuple(_planned(index, step, campaign) for index, step in enumerate(campaign.steps))
            for stage, campaign in policy.campaigns.items()
        }
        self._assigners = {
            STAGES.index(stage): Assigner(campaign_of(stage), campaign.holdout, campaign.variants)
            for stage, campaign in policy.campaigns.items()
        }

    def has_campaign(self, stage: int) -> bool:
        return stage in self._steps

    def next_step(self, state: CustomerActivity) -> PlannedStep | None:
        """The customer's next step in their current stage's campaign, if any remains."""
        steps = self._steps.get(state.stage)
        if steps is None or state.step >= len(steps):
            return None
        return steps[state.step]

    def steps(self, stage: int) -> tuple[PlannedStep, ...]:
        """Every step of the campaign of ``stage``, in order (none when it has no campaign)."""
        return self._steps.get(stage, ())

    def remaining(self, state: CustomerActivity) -> tuple[PlannedStep, ...]:
        """The steps of the current series not sent yet."""
        return self._steps.get(state.stage, ())[state.step :]

    def step(self, stage: int, index: int) -> PlannedStep | None:
        """Step ``index`` of the campaign of ``stage`` (None if the policy has no such step)."""
        steps = self._steps.get(stage, ())
        return steps[index] if index < len(steps) else None

    def assignment(self, customer_id: str, stage: int) -> Assignment:
        """The customer's holdout/variant group in the campaign of ``stage``."""
        assigner = self._assigners.get(stage)
        return assigner.assign(customer_id) if assigner is not None else _EVERYONE


_EVERYONE = Assignment(DEFAULT_VARIANT, False)  # the group of a stage with no campaign


def _planned(index: int, step: SeriesStep, campaign: Campaign) -> PlannedStep:
    return PlannedStep(
        index=index,
        after=step.after_days * DAY,
        channel=step.channel,
        template=step.template,
        offer=step.offer.to_offer() if step.offer else None,
        expires_after=campaign.expiry_days(step) * DAY,
        feedback_request=step.feedback_request,
        survey_url=campaign.survey(step),
        offers_by_tier=tuple((tier, offer.to_offer()) for tier, offer in step.offers_by_tier.items()),
        variants=tuple(
            (name, override.template, override.offer.to_offer() if override.offer else None)
            for name, override in step.variants.items()
        ),
    )


def campaign_of(stage: str) -> str:
    """The campaign a stage starts is named after the stage (its key under ``campaigns``)."""
    return stage


class SendPlan(NamedTuple):
    """How one planned step goes out: when, on which channel, to which group and tier."""

    due: float  # when the step was planned for
    send_at: float  # when it may go out (quiet hours and caps applied)
    channel: str
    group: Assignment
    tier: str | None
    payload: ChannelPayload | None = None  # the channel kind's part of the command


class SentMessage(NamedTuple):
    """A message the customer was sent, as attribution credits it (``streams.core.attribution``)."""

    stage: int
    episode: int
    step: PlannedStep
    channel: str
    tier: str | None
    sent_at: float
    variant: str

    def offer(self) -> Offer | None:
        """The incentive the message carried."""
        return self.step.offer_for(self.variant, self.tier)


class StepDecision(NamedTuple):
    """A decision about one step of the customer's current campaign, made at ``decided_at``:
    what a skip record says besides its reason."""

    customer_id: str
    state: CustomerActivity
    step: PlannedStep
    due: float  # when the step was planned for
    decided_at: float
    variant: str
