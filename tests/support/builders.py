"""Builders for the engine's unit and property tests: events at a day offset, policies from YAML.

Times are given in days after ``T0`` (noon UTC), which keeps whole-day thresholds exact.  The
events themselves come from ``streams.devtools.testing``; these only fix the time scale and
the ids the tests expect.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from streams.core.engine import Engine
from streams.core.lifecycle import DAY
from streams.devtools import testing
from streams.model.activity import CustomerActivity
from streams.model.events import AnyInput, EmailAction, EmailEngagement, Login, Profile, Purchase
from streams.policy.sections import Policy

__all__ = ["DAY", "T0", "email", "line", "login", "moment", "policy", "profile", "purchase", "replay", "when"]

T0 = datetime(2024, 1, 1, 12, tzinfo=timezone.utc).timestamp()


def moment(day: float) -> float:
    return T0 + day * DAY


def when(day: float) -> datetime:
    return testing.at(moment(day))


def purchase(day: float, customer: str = "c1", *, event_id: str | None = None, amount: float = 10.0, categories: tuple[str, ...] = ("shoes",)) -> Purchase:
    return testing.purchase(
        customer, moment(day), amount=amount, categories=categories, event_id=event_id or f"p-{customer}-{day}", order_id=f"o-{customer}-{day}"
    )


def login(day: float, customer: str = "c1", *, event_id: str | None = None) -> Login:
    return testing.login(customer, moment(day), event_id=event_id or f"l-{customer}-{day}")


def email(day: float, action: EmailAction, customer: str = "c1", *, event_id: str | None = None) -> EmailEngagement:
    return testing.email(customer, moment(day), action, event_id=event_id or f"m-{action}-{customer}-{day}")


def profile(day: float, customer: str = "c1", **fields) -> Profile:
    """``testing.profile`` at ``day`` (keywords: reachable, consent, preferred, time_zone, locale)."""
    return testing.profile(customer, moment(day), **fields)


def line(event: AnyInput) -> bytes:
    return testing.event_lines([event])[0]


def policy(text: str) -> Policy:
    return testing.policy_from_yaml(text)


def replay(engine: Engine, events: Iterable[AnyInput], until_day: float | None = None, customer: str = "c1") -> tuple[CustomerActivity, list[Any]]:
    """One customer's state and every record after ``events`` are applied in order and then, with
    ``until_day``, the clock advanced to that day: what the stream emits for them."""
    state: CustomerActivity | None = None
    records: list[Any] = []
    for event in events:
        result = engine.apply(customer, state, event)
        state = result.state
        records.extend(result.records)
    assert state is not None, "replay needs at least one event"
    if until_day is not None:
        result = engine.advance(customer, state, moment(until_day))
        state = result.state
        records.extend(result.records)
    return state, records
