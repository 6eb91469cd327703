"""Quiet hours: the daily window, in the customer's own time zone, when no message may go out.

Times are computed through the zone database, so a window keeps its local meaning across
daylight-saving changes (21:00 stays 21:00 local in summer and winter).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from streams.core.controls.channel_book import ChannelBook
from streams.policy.sections import QuietHours
from streams.model.time_zones import zone


class QuietWindow:
    """One policy's quiet window; ``next_allowed`` moves a send time out of it."""

    def __init__(self, policy: QuietHours | None, channels: ChannelBook) -> None:
        self.policy = policy
        self.channels = reduce(or_, (channels.code(name) for name in policy.channels), 0) if policy else 0  # a bit per channel

    def applies(self, channel: int) -> bool:
        """Whether the window holds back messages on ``channel`` (its code) at all: a caller that
        asks this once for a channel can skip ``next_allowed``, which converts the time to the
        customer's zone, for every message on one it does not apply to."""
        return self.policy is not None and bool(self.channels & channel)

    def next_allowed(self, at: float, time_zone: str | None, channel: int) -> float:
        """``at`` if a message on ``channel`` (its code) may go out then, else the end of the quiet window."""
        policy = self.policy
        if policy is None or not self.channels & channel:
            return at
        local = datetime.fromtimestamp(at, zone(time_zone or policy.default_time_zone))
        now, start, end = local.time(), policy.start, policy.end
        if start < end:  # a window within one day, e.g. 12:00-14:00
            if not start <= now < end:
                return at
            ends_on = local.date()
        else:  # a window across midnight, e.g. 21:00-08:00
            if end <= now < start:
                return at
            ends_on = local.date() + timedelta(days=1) if now >= start else local.date()
        return max(at, datetime.combine(ends_on, end, tzinfo=local.tzinfo).timestamp())
