"""When in the day a step goes out: as planned (``fixed``) or at the customer's habitual hour.

``habitual`` moves each step to the customer's usual local hour (learnt from their own
purchases, logins, opens and clicks, ``streams.core.controls.send_time``), never by more than
``max_delay_hours`` nor past the message's expiry; quiet hours and caps still apply after it.
Customers with fewer than ``min_observations`` observed events get ``fallback_hour`` (local),
or, without one, the planned time.  A campaign may set its own mode, per A/B variant too
(``send_time_by_variant``), so the KPI report compares the two.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from streams.policy.base import Section

SendTimeMode = Literal["habitual", "fixed"]


class SendTime(Section):
    """The policy-wide send-time setting; ``send_time: habitual`` is short for ``{mode: habitual}``."""

    mode: SendTimeMode = "fixed"
    min_observations: int = Field(5, ge=1, le=1000)
    fallback_hour: int | None = Field(None, ge=0, le=23)
    max_delay_hours: float = Field(24.0, gt=0, le=168, allow_inf_nan=False)
    weekday: bool = False  # also wait for the customer's habitual weekday (within max_delay_hours)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"mode": value} if isinstance(value, str) else value
