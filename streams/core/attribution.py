"""Attribution: what a campaign's messages led to, engagement and conversions.

A purchase soon after a campaign touched the customer is that campaign's conversion.  The
touch is the latest trigger of a stage that has a campaign (or, with ``after: command``, the
latest message, including the ones a holdout customer would have got, so treated and
held-out customers are measured the same way).  The first purchase within the window after
it converts, once per lapse, even if a login brought the customer back to ``active`` first:
that is still the campaign working.  The conversion is credited to the campaign's latest
message sent before it (its step, channel and incentive); a holdout customer's has none.

Email engagement is credited by id: an email event whose ``message_id`` is a command's id is
that message's, once per message and action; so is a feedback answer (the action ``feedback``,
once per message, with its reason).  So the state remembers the latest messages sent
(``CustomerActivity.messages``: at most ``MAX_MESSAGES``, none older than the window), as
numbers from which the command id, step and offer are derived again.  Variant and holdout
come from the same stable hash as the sending did, so they need no storage.
"""

from __future__ import annotations

from typing import Any

from streams.core.lifecycle import DAY
from streams.core.recorders import Recorder
from streams.core.series import SentMessage, Series, campaign_of
from streams.model.activity import (
    ACTION_BITS,
    MAX_MESSAGES,
    SENT_AT,
    SENT_CHANNEL,
    SENT_ENGAGED,
    SENT_EPISODE,
    SENT_STAGE,
    SENT_STEP,
    SENT_TIER,
    CustomerActivity,
)
from streams.core.controls.channel_book import ChannelBook
from streams.model.events import EmailEngagement, EngagementAction, Feedback, Purchase
from streams.model.records import command_id, trigger_stage
from streams.policy.sections import Policy


class Attributor:
    """A policy's attribution rule: records touches and messages on the customer's state, and
    finds what they led to."""

    def __init__(self, policy: Policy, series: Series, channels: ChannelBook, recorder: Recorder[Any]) -> None:
        self.series = series
        self.recorder = recorder
        self.window = policy.attribution.window_days * DAY
        self.after_command = policy.attribution.after == "command"
        self.tiers = tuple(tier.name for tier in policy.tiers)
        self.channels = channels

    def touch_trigger(self, state: CustomerActivity, at: float) -> None:
        """The customer just entered ``state.stage``: its campaign (if any) is the touch to credit."""
        if self.series.has_campaign(state.stage):
            state.touch_stage, state.touch_episode, state.touch_at, state.converted = state.stage, state.episode, at, False

    def touch_message(self, state: CustomerActivity, at: float) -> None:
        """A message of the current campaign went out (or would have, for the holdout)."""
        if self.after_command and (state.touch_stage, state.touch_episode) == (state.stage, state.episode):
            state.touch_at = at

    def tier_code(self, tier: str | None) -> int:
        """How a message remembers the value tier it was sent to (0: none)."""
        return self.tiers.index(tier) + 1 if tier is not None else 0

    def remember_message(self, state: CustomerActivity, step: int, channel: int, tier: int, at: float) -> None:
        """Step ``step`` of the current campaign was sent on the channel of code ``channel`` to
        the tier of code ``tier`` (``tier_code``) at ``at``: keep it for crediting, forgetting
        messages older than the window and beyond ``MAX_MESSAGES``.  Codes, not names: the
        caller finds them once a series, not once a message."""
        horizon = at - self.window
        kept = state.messages
        if len(kept) >= MAX_MESSAGES or _any_before(kept, horizon):
            kept = state.messages = [message for message in kept if message[SENT_AT] >= horizon][-(MAX_MESSAGES - 1) :]
        kept.append([int(at), state.stage, step, state.episode, channel, tier, 0])

    def engagement(self, customer_id: str, state: CustomerActivity, event: EmailEngagement | Feedback, at: float) -> Any:
        """The recorded engagement if ``event`` is about a remembered message, within the window
        after it was sent, and the first of its action on it; else None."""
        action: EngagementAction = event.action if isinstance(event, EmailEngagement) else "feedback"
        reason = event.reason if isinstance(event, Feedback) else None
        found = self._message_by_id(customer_id, state, event.message_id)
        if found is None or at > found[SENT_AT] + self.window or found[SENT_ENGAGED] & ACTION_BITS[action]:
            return None
        sent = self._sent(customer_id, found)
        if sent is None:  # a step the policy no longer has
            return None
        found[SENT_ENGAGED] |= ACTION_BITS[action]
        return self.recorder.engagement(customer_id, sent, action, at, reason)

    def conversion(self, customer_id: str, state: CustomerActivity, purchase: Purchase, at: float) -> Any:
        """The recorded outcome if this purchase converts the latest touch (marking it converted), else None."""
        if not state.touch_stage or state.converted or not state.touch_at <= at <= state.touch_at + self.window:
            return None
        state.converted = True
        group = self.series.assignment(customer_id, state.touch_stage)
        return self.recorder.outcome(customer_id, state, purchase, at, group, self._latest_sent(customer_id, state, at))

    def sent_since(self, customer_id: str, state: CustomerActivity, at: float) -> list[SentMessage]:
        """The remembered messages of the customer's current episode sent at or after ``at``."""
        found = (
            self._sent(customer_id, message)
            for message in state.messages
            if message[SENT_EPISODE] == state.episode and message[SENT_AT] >= int(at)
        )
        return [sent for sent in found if sent is not None]

    def _message_by_id(self, customer_id: str, state: CustomerActivity, message_id: str | None) -> list[int] | None:
        if message_id is None:
            return None
        for message in state.messages:
            campaign = campaign_of(trigger_stage(message[SENT_STAGE]))
            if command_id(customer_id, campaign, message[SENT_STEP], message[SENT_EPISODE]) == message_id:
                return message
        return None

    def _latest_sent(self, customer_id: str, state: CustomerActivity, at: float) -> SentMessage | None:
        """The touched campaign's latest message sent at or before ``at``, if one is remembered."""
        for message in reversed(state.messages):
            if (message[SENT_STAGE], message[SENT_EPISODE]) == (state.touch_stage, state.touch_episode) and message[SENT_AT] <= at:
                return self._sent(customer_id, message)
        return None

    def _sent(self, customer_id: str, message: list[int]) -> SentMessage | None:
        """A remembered message with its step, channel and variant looked up again (None: the policy
        lost the step or the channel)."""
        stage = message[SENT_STAGE]
        step = self.series.step(stage, message[SENT_STEP])
        channel = self.channels.names.get(message[SENT_CHANNEL])
        if step is None or channel is None:
            return None
        tier = self.tiers[message[SENT_TIER] - 1] if 0 < message[SENT_TIER] <= len(self.tiers) else None
        variant = self.series.assignment(customer_id, stage).variant
        return SentMessage(stage, message[SENT_EPISODE], step, channel, tier, float(message[SENT_AT]), variant)


def _any_before(messages: list[list[int]], horizon: float) -> bool:
    """Whether any of ``messages`` was sent before ``horizon`` (a loop: there are at most a few)."""
    for message in messages:
        if message[SENT_AT] < horizon:
            return True
    return False
