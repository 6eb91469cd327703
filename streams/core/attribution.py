"""Attribution: a purchase soon after a campaign touched the customer is that campaign's conversion.

The touch is the latest trigger of a stage that has a campaign (or, with ``after: command``,
the latest message, including the ones a holdout customer would have got, so treated and
held-out customers are measured the same way).  The first purchase within the window after
it converts, once per lapse, even if a login brought the customer back to ``active`` first:
that is still the campaign working.  Variant and holdout come from the same stable hash as
the sending did, so they need no storage.
"""

from __future__ import annotations

from typing import Any

from streams.core.lifecycle import DAY
from streams.core.recorders import Recorder
from streams.core.series import Series
from streams.model.activity import CustomerActivity
from streams.model.events import Purchase
from streams.policy.sections import Policy


class Attributor:
    """A policy's attribution rule: records touches on the customer's state and finds conversions."""

    def __init__(self, policy: Policy, series: Series, recorder: Recorder[Any]) -> None:
        self.series = series
        self.recorder = recorder
        self.window = policy.attribution.window_days * DAY
        self.after_command = policy.attribution.after == "command"

    def touch_trigger(self, state: CustomerActivity, at: float) -> None:
        """The customer just entered ``state.stage``: its campaign (if any) is the touch to credit."""
        if self.series.has_campaign(state.stage):
            state.touch_stage, state.touch_episode, state.touch_at, state.converted = state.stage, state.episode, at, False

    def touch_message(self, state: CustomerActivity, at: float) -> None:
        """A message of the current campaign went out (or would have, for the holdout)."""
        if self.after_command and (state.touch_stage, state.touch_episode) == (state.stage, state.episode):
            state.touch_at = at

    def conversion(self, customer_id: str, state: CustomerActivity, purchase: Purchase, at: float) -> Any:
        """The recorded outcome if this purchase converts the latest touch (marking it converted), else None."""
        if not state.touch_stage or state.converted or not state.touch_at <= at <= state.touch_at + self.window:
            return None
        state.converted = True
        group = self.series.assignment(customer_id, state.touch_stage)
        return self.recorder.outcome(customer_id, state, purchase, at, group)
