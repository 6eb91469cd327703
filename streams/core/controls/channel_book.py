"""A policy's channels compiled for the engine: each one's code, consent bit, kind and payload.

A customer's state refers to channels by small ints: the messages sent (for caps and
attribution) by channel code (the built-ins 1, 2 and 4 as ever, the policy's own 8, 16, ... in
the order ``channels.custom`` lists them), and consent and opt-outs by consent-field bit
(``streams.model.activity.CONSENT_BITS``).  Renaming or reordering custom channels while their
messages are still in customers' states makes those messages count as another channel's.
"""

from __future__ import annotations

from streams.model.activity import CHANNEL_BITS, CONSENT_BITS
from streams.model.records import Audience, ChannelPayload
from streams.policy.sections import Channels


class ChannelBook:
    """Every channel of a policy, built-in or its own."""

    def __init__(self, channels: Channels) -> None:
        self.codes: dict[str, int] = dict(CHANNEL_BITS)
        self.codes |= {name: max(CHANNEL_BITS.values()) << (index + 1) for index, name in enumerate(channels.custom)}
        self.names: dict[int, str] = {code: name for name, code in self.codes.items()}
        self.consent_bits: dict[str, int] = {name: CONSENT_BITS[name] for name in CHANNEL_BITS}
        self.consent_bits |= {name: CONSENT_BITS[definition.consent_field] for name, definition in channels.custom.items()}
        self.payloads: dict[str, ChannelPayload | None] = {name: None for name in CHANNEL_BITS}
        self.payloads |= {name: definition.payload() for name, definition in channels.custom.items()}

    def code(self, channel: str) -> int:
        """The code a message on ``channel`` is kept under in the customer's state."""
        return self.codes[channel]

    def consent_mask(self, channels: list[str]) -> int:
        """The consent bits that allow these channels."""
        mask = 0
        for channel in channels:
            mask |= self.consent_bits[channel]
        return mask

    def audience(self, channel: str) -> Audience | None:
        """The ads audience ``channel`` adds the customer to (to be removed when the lapse ends), if it is one."""
        payload = self.payloads.get(channel)
        return payload if type(payload) is Audience else None
