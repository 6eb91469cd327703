"""Consent and reachability: which channels may carry a message to a customer, and the fallback.

A channel is allowed when the customer can be reached and has consented on its consent field
(their profile; the policy's ``channels.without_profile`` until a profile arrives) and has not
unsubscribed, complained or hard-bounced on it.  Opt-outs from engagement events are final here: a profile
snapshot that still lists the channel does not undo them (the CRM may simply not have seen
the opt-out yet).
"""

from __future__ import annotations

from typing import NamedTuple

from streams.core.controls.channel_book import ChannelBook
from streams.model.activity import CONSENT_BITS, NEVER, CustomerActivity
from streams.model.records import SkipReason
from streams.policy.sections import Channels


class ChannelChoice(NamedTuple):
    """Where a step goes: ``channel`` (None: nowhere) and, unless it is the planned one, why not that."""

    channel: str | None
    reason: SkipReason | None


class Reachability:
    def __init__(self, channels: Channels, book: ChannelBook) -> None:
        self.book = book
        self.fallback: tuple[str, ...] = tuple(channels.fallback)
        self.without_profile = self.book.consent_mask(channels.without_profile)
        # The fallback order for each preferred consent field (0: none).
        self._fallback_orders = {preferred: self._fallback_order(preferred) for preferred in (0, *CONSENT_BITS.values())}

    def allowed(self, state: CustomerActivity) -> int:
        """CONSENT_BITS a message to this customer may use now."""
        permitted = self.without_profile if state.profile_at == NEVER else state.reachable & state.consent
        return permitted & ~(state.unsubscribed | state.bounced)

    def choose(self, allowed: int, preferred: int, planned: str) -> ChannelChoice:
        """The planned channel if ``allowed`` (a customer's ``allowed``) lets it, else the first
        allowed fallback, the customer's ``preferred`` channel (its consent bit) first."""
        consent = self.book.consent_bits
        if allowed & consent[planned]:
            return ChannelChoice(planned, None)
        if not self.fallback:
            return ChannelChoice(None, "no_consent")
        for channel in self._fallback_orders[preferred]:
            if allowed & consent[channel]:
                return ChannelChoice(channel, "no_consent")
        return ChannelChoice(None, "no_channel")

    def _fallback_order(self, preferred: int) -> tuple[str, ...]:
        consent = self.book.consent_bits
        first = tuple(channel for channel in self.fallback if consent[channel] == preferred)
        return first + tuple(channel for channel in self.fallback if consent[channel] != preferred)
