"""Small builders for events and policies, shared by the engine's unit and property tests.

Times are given in days after ``T0`` (noon UTC), which keeps whole-day thresholds exact.
"""

from __future__ import annotations

from datetime import datetime, timezone

import msgspec

from streams.model.events import AnyInput, EmailEngagement, Login, Profile, Purchase
from streams.policy.sections import Policy
from streams.policy.loading import parse_policy

DAY = 86400.0
T0 = datetime(2024, 1, 1, 12, tzinfo=timezone.utc).timestamp()


def moment(day: float) -> float:
    return T0 + day * DAY


def when(day: float) -> datetime:
    return datetime.fromtimestamp(moment(day), tz=timezone.utc)


def purchase(day: float, customer: str = "c1", *, event_id: str | None = None, amount: float = 10.0, categories: tuple[str, ...] = ("shoes",)) -> Purchase:
    return Purchase(
        event_id=event_id or f"p-{customer}-{day}",
        customer_id=customer,
        occurred_at=when(day),
        order_id=f"o-{customer}-{day}",
        amount=amount,
        currency="EUR",
        categories=list(categories),
    )


def login(day: float, customer: str = "c1", *, event_id: str | None = None) -> Login:
    return Login(event_id=event_id or f"l-{customer}-{day}", customer_id=customer, occurred_at=when(day))


def email(day: float, action: str, customer: str = "c1", *, event_id: str | None = None) -> EmailEngagement:
    return EmailEngagement(
        event_id=event_id or f"m-{action}-{customer}-{day}", customer_id=customer, occurred_at=when(day), action=action  # type: ignore[arg-type]
    )


def profile(
    day: float,
    customer: str = "c1",
    *,
    reachable: tuple[str, ...] = ("email", "sms", "push"),
    consent: tuple[str, ...] = ("email", "sms", "push"),
    preferred: str | None = None,
    time_zone: str | None = None,
    locale: str | None = None,
) -> Profile:
    return Profile(
        customer_id=customer,
        updated_at=when(day),
        reachable=list(reachable),  # type: ignore[arg-type]
        consent=list(consent),  # type: ignore[arg-type]
        preferred_channel=preferred,  # type: ignore[arg-type]
        time_zone=time_zone,
        locale=locale,
    )


def line(event: AnyInput) -> bytes:
    return msgspec.json.encode(event)


def policy(text: str) -> Policy:
    return parse_policy(text, source="test.yaml")


SMALL = """
stages: {reactivation: 5, winback: 15, sunset: 40}
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: email, template: miss-you}
      - {after_days: 3, channel: push, template: new-in}
  winback:
    expires_after_days: 2
    steps:
      - {after_days: 0, channel: email, template: offer, offer: {percent_off: 20}}
      - {after_days: 4, channel: sms, template: reminder, expires_after_days: 1}
"""
