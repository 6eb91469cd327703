"""Frequency caps: at most N messages in any rolling window, overall, per channel or per campaign.

A customer is in one stage at a time, so at most one step of theirs is ever pending: checking
a step against the messages already sent is enough, and the earliest time a capped step may
go out follows from those sends alone (later times only let old sends fall out of windows).
The sends are kept in the customer's state, pruned to the longest window, so a restart or a
replay counts exactly the same messages.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from streams.core.controls.channel_book import ChannelBook
from streams.core.lifecycle import DAY
from streams.model.records import STAGES
from streams.policy.sections import Cap, Policy

Send = tuple[int, int, int]  # (send time in whole seconds, channel code (``ChannelBook``), stage code)


class CapRule(NamedTuple):
    """One cap compiled for the engine: ``channel``/``stage`` 0 means "any"."""

    messages: int
    window: float  # seconds
    channel: int
    stage: int

    def applies(self, channel: int, stage: int) -> bool:
        return self.channel in (0, channel) and self.stage in (0, stage)


class FrequencyCaps:
    """Every cap of a policy: the global ones and each campaign's own."""

    def __init__(self, policy: Policy, channels: ChannelBook) -> None:
        rules = [_rule(cap, 0, channels) for cap in policy.caps.limits]
        for name, campaign in policy.campaigns.items():
            rules += [_rule(cap, STAGES.index(name), channels) for cap in campaign.caps]
        self.rules = tuple(rules)
        self.horizon = max((rule.window for rule in rules), default=0.0)  # how long a send matters
        self._applying: dict[tuple[int, int], tuple[CapRule, ...]] = {}  # (channel, stage): the rules that apply

    def __bool__(self) -> bool:
        return bool(self.rules)

    def allowed_from(self, sends: list[Send], at: float, channel: int, stage: int) -> float:
        """The earliest time at or after ``at`` when one more message on ``channel`` breaks no cap."""
        rules = self._applying.get((channel, stage))
        if rules is None:
            rules = self._rules_for(channel, stage)
        earliest = at
        for rule in rules:
            earliest = max(earliest, _rule_allows_from(rule, sends, at))
        return earliest

    def _rules_for(self, channel: int, stage: int) -> tuple[CapRule, ...]:
        """The rules a message on ``channel`` in ``stage`` counts against, found once for each pair."""
        rules = self._applying[channel, stage] = tuple(rule for rule in self.rules if rule.applies(channel, stage))
        return rules

    def record(self, sends: list[Send], at: float, channel: int, stage: int) -> None:
        """Remember a message sent at ``at``, forgetting sends no window can see any more."""
        if not self.rules:
            return
        sends.append((math.ceil(at), channel, stage))  # rounded up: a send never leaves a window early
        horizon = at - self.horizon
        while sends and sends[0][0] <= horizon:
            del sends[0]


def _rule_allows_from(rule: CapRule, sends: list[Send], at: float) -> float:
    """With ``m >= N`` matching sends in the window, the ``(m-N+1)``-th latest must leave it first."""
    within = [sent for sent, channel, stage in sends if sent > at - rule.window and rule.applies(channel, stage)]
    if len(within) < rule.messages:
        return at
    return within[len(within) - rule.messages] + rule.window


def _rule(cap: Cap, stage: int, channels: ChannelBook) -> CapRule:
    return CapRule(cap.messages, cap.per_days * DAY, channels.code(cap.channel) if cap.channel else 0, stage)
