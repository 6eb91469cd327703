"""Helpers for testing code that uses winback-streams: build events, run the engine, collect what it decides.

No broker and no Faust: the engine is the same one a worker runs, so a policy or a sender's
expectations can be tested against exactly the records a worker would publish::

    from streams.devtools.testing import login, policy_from_yaml, purchase, run_engine

    policy = policy_from_yaml("stages: {reactivation: 30}\\ncampaigns: {reactivation: {steps: "
                              "[{after_days: 0, channel: email, template: we-miss-you}]}}")
    run = run_engine(policy, [purchase("c1", "2024-01-01T12:00:00Z", amount=40.0)], until="2024-03-01T00:00:00Z")
    assert [record.campaign for record in run.triggers()] == ["reactivation"]

Times are an aware ``datetime``, epoch seconds or an RFC 3339 string.  Events are applied in
the order given, one customer at a time, as a worker applies the records of one partition.
``replay`` runs an ``Engine`` you made (your own recorder) as ``run_engine`` runs the policy's.
``event_lines`` writes events as a backtest file's lines (``streams.backtest.run.run_backtest``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import msgspec

from streams.core.engine import Engine
from streams.model.activity import CustomerActivity
from streams.model.events import (
    CHANNELS, AnyInput, ConsentField, EmailAction, EmailEngagement, Feedback, FeedbackReason, Login, Profile, Purchase
)
from streams.model.records import Engagement, MessageCommand, Outcome, Record, Skip, Trigger
from streams.policy.loading import parse_policy
from streams.policy.sections import Policy

Moment = datetime | float | str


def at(moment: Moment) -> datetime:
    """``moment`` as an aware datetime (a string without an offset is refused, as the codec refuses it)."""
    if isinstance(moment, datetime):
        when = moment
    elif isinstance(moment, str):
        when = datetime.fromisoformat(moment)
    else:
        return datetime.fromtimestamp(moment, tz=timezone.utc)
    if when.tzinfo is None:
        raise ValueError(f"{moment!r} has no UTC offset")
    return when


def purchase(
    customer: str,
    when: Moment,
    *,
    amount: float = 10.0,
    currency: str = "EUR",
    categories: Sequence[str] = (),
    event_id: str | None = None,
    order_id: str | None = None,
    discount_code: str | None = None,
) -> Purchase:
    """An order; its ids default to ones made of customer and time."""
    common = _common("purchase", customer, when, event_id)
    order_id = order_id or f"order-{customer}-{common['occurred_at'].isoformat()}"
    return Purchase(
        **common, order_id=order_id, amount=amount, currency=currency, categories=list(categories), discount_code=discount_code
    )


def login(customer: str, when: Moment, *, platform: str | None = None, event_id: str | None = None) -> Login:
    return Login(**_common("login", customer, when, event_id), platform=platform)


def email(
    customer: str,
    when: Moment,
    action: EmailAction,
    *,
    campaign_id: str | None = None,
    message_id: str | None = None,
    event_id: str | None = None,
) -> EmailEngagement:
    """What happened to an email; ``message_id``: the command it is about."""
    return EmailEngagement(
        **_common(f"email-{action}", customer, when, event_id), action=action, campaign_id=campaign_id, message_id=message_id
    )


def feedback(
    customer: str, when: Moment, message_id: str, reason: FeedbackReason, *, comment: str | None = None, event_id: str | None = None
) -> Feedback:
    """A feedback answer to the message ``message_id``: why the customer stopped buying."""
    return Feedback(**_common("feedback", customer, when, event_id), message_id=message_id, reason=reason, comment=comment)


def _common(kind: str, customer: str, when: Moment, event_id: str | None) -> dict[str, Any]:
    """The fields every event has; the id defaults to one made of kind, customer and time."""
    moment = at(when)
    return {"event_id": event_id or f"{kind}-{customer}-{moment.isoformat()}", "customer_id": customer, "occurred_at": moment}


def profile(
    customer: str,
    when: Moment,
    *,
    reachable: Iterable[ConsentField] = CHANNELS,
    consent: Iterable[ConsentField] = CHANNELS,
    preferred: ConsentField | None = None,
    time_zone: str | None = None,
    locale: str | None = None,
) -> Profile:
    """A CRM profile: reachable and consented on every built-in channel unless told otherwise
    (``reachable``, ``consent`` and ``preferred`` name consent fields: a built-in channel's is its name)."""
    return Profile(
        customer_id=customer,
        updated_at=at(when),
        reachable=list(reachable),
        consent=list(consent),
        preferred_channel=preferred,
        time_zone=time_zone,
        locale=locale,
    )


def event_lines(events: Iterable[AnyInput]) -> list[bytes]:
    """The events as the lines of a backtest file (JSON with ``type``), in order."""
    return [msgspec.json.encode(event) for event in events]


def policy_from_yaml(text: str) -> Policy:
    """A policy from YAML text (raises ``streams.policy.messages.PolicyError`` with every problem)."""
    return parse_policy(text, source="<test policy>")


@dataclass
class Run:
    """What the engine decided: every record in order, with its customer, and each final state."""

    records: list[tuple[str, Record]] = field(default_factory=list)
    states: dict[str, CustomerActivity] = field(default_factory=dict)

    def triggers(self) -> list[Trigger]:
        return [record for _, record in self.records if isinstance(record, Trigger)]

    def commands(self) -> list[MessageCommand]:
        return [record for _, record in self.records if isinstance(record, MessageCommand)]

    def skips(self) -> list[Skip]:
        return [record for _, record in self.records if isinstance(record, Skip)]

    def outcomes(self) -> list[Outcome]:
        return [record for _, record in self.records if isinstance(record, Outcome)]

    def engagements(self) -> list[Engagement]:
        return [record for _, record in self.records if isinstance(record, Engagement)]


def run_engine(policy: Policy, events: Iterable[AnyInput], *, until: Moment | None = None) -> Run:
    """Apply ``events`` in the order given, then (with ``until``) fire what is due up to then."""
    return replay(Engine(policy), events, until=until)


def replay(engine: Engine, events: Iterable[AnyInput], *, until: Moment | None = None) -> Run:
    """``run_engine`` on an engine of your own (a recorder or clock of your choice)."""
    run = Run()
    for event in events:
        result = engine.apply(event.customer_id, run.states.get(event.customer_id), event)
        run.states[event.customer_id] = result.state
        run.records += [(event.customer_id, record) for record in result.records]
    if until is not None:
        now = at(until).timestamp()
        for customer_id, state in run.states.items():
            advanced = engine.advance(customer_id, state, now)
            run.states[customer_id] = advanced.state
            run.records += [(customer_id, record) for record in advanced.records]
    return run
