"""Campaign KPIs: the funnel, ROI and lift of every campaign, from the records that tell them.

A ``KpiTally`` is fed records one at a time: triggers (the lapses of each A/B variant and of
the holdout), message commands (sent; a cancel is not a message), engagements, outcomes
(conversions) and retractions (a lapse withdrawn, and its messages sent in error); full records
or the lighter facts of the same names a backtest makes (``Lapse``, ``Sent``, ``Engaged``,
``Converted``, ``Retracted``).  The same tally serves the backtest's report and whatever reads the topics,
so both say the same numbers about the same history.

Per campaign x step x variant x channel (a funnel row): sent, delivered, opened, clicked,
bounced, complained, unsubscribed and feedback answers (each once per message), sent in error
(a late event retracted the lapse after the message went out: ``streams.core.retraction``), their rates
per message sent, the answers per reason (a feedback step's survey),
conversions credited to the row and their rate, revenue per currency and converted
(``policy.economics``), incentive cost, send cost and ROI.  Per campaign x variant against the
holdout: lapses retracted, conversion rate and revenue per lapse with 95 % intervals of the lift
(``streams.core.statistics``), and which variant leads and whether significantly yet.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from streams.core.statistics import Interval, Sample, mean_difference, proportion_difference
from streams.model.events import ChannelName, EngagementAction, FeedbackReason
from streams.model.records import Engagement, MessageCommand, Offer, Outcome, Retraction, Trigger, TriggerReason
from streams.policy.sections import Economics

ACTIONS: tuple[EngagementAction, ...] = ("delivered", "open", "click", "bounce", "complaint", "unsubscribe", "feedback")
NO_STEP, NO_CHANNEL = -1, "none"  # the row of conversions credited to no message (held out, or nothing went out)


class Lapse(NamedTuple):
    """What the tally reads of a ``Trigger``: a lapse entered a campaign's variant or holdout
    (``reason``: what started it, which a backtest's report counts too)."""

    stage: str
    campaign: str
    variant: str
    holdout: bool
    reason: TriggerReason = "threshold"


class Sent(NamedTuple):
    """What the tally reads of a ``MessageCommand``."""

    channel: str
    campaign: str
    step: int
    variant: str


class Engaged(NamedTuple):
    """What the tally reads of an ``Engagement``."""

    campaign: str
    step: int
    variant: str
    channel: str
    action: EngagementAction
    reason: FeedbackReason | None = None


class Converted(NamedTuple):
    """What the tally reads of an ``Outcome``."""

    campaign: str
    variant: str
    holdout: bool
    revenue: float
    currency: str
    step: int | None
    channel: str | None
    offer: Offer | None
    discount_code: str | None


class Retracted(NamedTuple):
    """What the tally reads of a ``Retraction``: the lapse withdrawn, and the funnel row
    (campaign, step, variant, channel) of each of its messages sent in error."""

    campaign: str
    variant: str
    holdout: bool
    sent_in_error: tuple[tuple[str, int, str, ChannelName], ...]


Fact = Lapse | Sent | Engaged | Converted | Retracted
Tallied = Trigger | MessageCommand | Engagement | Outcome | Retraction | Fact


def _sent_in_error(record: Retraction | Retracted) -> Sequence[tuple[str, int, str, ChannelName]]:
    """The funnel row (campaign, step, variant, channel) of each message a retraction says was sent in error."""
    if isinstance(record, Retracted):
        return record.sent_in_error
    return [(message.campaign, message.step, message.variant, message.channel) for message in record.sent_in_error]


def redeemed(outcome: Outcome | Converted) -> Offer | None:
    """The incentive a conversion used: the credited message's offer, when the order carries a discount code."""
    return outcome.offer if outcome.discount_code is not None else None


def discount(offer: Offer, amount: float) -> float:
    """What a redeemed offer's percent off took off an order of ``amount`` (in the order's currency)."""
    return (offer.percent_off or 0) / 100 * amount


def roi(revenue: float | None, incentives: float | None, sending: float) -> float | None:
    """(revenue - incentive cost - send cost) / (incentive cost + send cost); None while unknown or nothing was spent."""
    if revenue is None or incentives is None or incentives + sending <= 0:
        return None
    return (revenue - incentives - sending) / (incentives + sending)


class Money:
    """Amounts in several currencies, converted into one (``Economics.rate``) when asked."""

    def __init__(self, economics: Economics, currencies: set[str]) -> None:
        self.economics = economics
        # Without a currency in the policy, the orders' one when they all have the same.
        self.currency = economics.currency or (next(iter(currencies)) if len(currencies) == 1 else None)

    def rate(self, currency: str) -> float | None:
        if currency == self.currency:
            return 1.0
        return self.economics.rate(currency) if self.economics.currency is not None else None

    def convert(self, amounts: Mapping[str, float], squared: bool = False) -> float | None:
        """The sum of ``amounts`` in the one currency (of squares of amounts: ``squared``), None if one has no rate."""
        total = 0.0
        for currency, amount in amounts.items():
            rate = self.rate(currency)
            if rate is None:
                return None
            total += amount * (rate * rate if squared else rate)
        return total


@dataclass
class FunnelRow:
    """One campaign x step x variant x channel."""

    sent: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # feedback answers per reason
    conversions: int = 0
    revenue: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # per currency
    discounts: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # redeemed percent off, per currency
    free_shipping: int = 0  # redeemed free-shipping offers
    sent_in_error: int = 0  # messages of a lapse a late event retracted, sent before it arrived

    def add(self, other: FunnelRow) -> None:
        """Add another tally's figures of the same row (a backtest shard's)."""
        self.sent += other.sent
        self.actions.update(other.actions)
        self.reasons.update(other.reasons)
        self.conversions += other.conversions
        for currency, amount in other.revenue.items():
            self.revenue[currency] += amount
        for currency, amount in other.discounts.items():
            self.discounts[currency] += amount
        self.free_shipping += other.free_shipping
        self.sent_in_error += other.sent_in_error

    def convert(self, record: Outcome | Converted) -> None:
        self.conversions += 1
        self.revenue[record.currency] += record.revenue
        used = redeemed(record)
        if used is not None:
            self.discounts[record.currency] += discount(used, record.revenue)
            self.free_shipping += used.free_shipping

    def as_dict(self, money: Money, send_cost: float) -> dict[str, Any]:
        revenue = money.convert(self.revenue)
        discounts = money.convert(self.discounts)
        incentives = discounts + self.free_shipping * money.economics.free_shipping_cost if discounts is not None else None
        return {
            "sent": self.sent,
            **{_ACTION_NAMES[action]: self.actions[action] for action in ACTIONS},
            **{f"{_ACTION_NAMES[action]}_rate": _ratio(self.actions[action], self.sent) for action in ACTIONS},
            "feedback_reasons": dict(sorted(self.reasons.items())),
            "conversions": self.conversions,
            "conversion_rate": _ratio(self.conversions, self.sent),
            "revenue": {currency: _cents(amount) for currency, amount in sorted(self.revenue.items())},
            "revenue_converted": _cents(revenue),
            "incentive_cost": _cents(incentives),
            "send_cost": _cents(send_cost),
            "roi": _round(roi(revenue, incentives, send_cost)),
            "sent_in_error": self.sent_in_error,
        }


@dataclass
class Arm:
    """A campaign's variant (or its holdout): lapses, conversions and their revenue per currency."""

    lapses: int = 0
    conversions: int = 0
    retracted: int = 0  # lapses withdrawn because a late event showed the customer active (counted in ``lapses`` too)
    revenue: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    squares: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # of each conversion's revenue (a lapse converts at most once)

    def add(self, other: Arm) -> None:
        self.lapses += other.lapses
        self.conversions += other.conversions
        self.retracted += other.retracted
        for currency, amount in other.revenue.items():
            self.revenue[currency] += amount
        for currency, amount in other.squares.items():
            self.squares[currency] += amount

    def revenue_sample(self, money: Money) -> Sample | None:
        """Revenue per lapse (0 for a lapse that did not convert), None when empty or not convertible."""
        total, squares = money.convert(self.revenue), money.convert(self.squares, squared=True)
        return Sample.of_sums(self.lapses, total, squares) if self.lapses and total is not None and squares is not None else None

    def as_dict(self, money: Money) -> dict[str, Any]:
        sample = self.revenue_sample(money)
        return {
            "lapses": self.lapses,
            "retracted": self.retracted,
            "conversions": self.conversions,
            "conversion_rate": _ratio(self.conversions, self.lapses),
            "revenue_per_lapse": _cents(sample.mean) if sample is not None else None,
        }


class KpiTally:
    """Every campaign's KPIs, from records added one at a time, in any order (each record once:
    de-duplicate at-least-once input by id before adding)."""

    def __init__(self, economics: Economics) -> None:
        self.economics = economics
        self.rows: defaultdict[tuple[str, int, str, str], FunnelRow] = defaultdict(FunnelRow)
        self.arms: defaultdict[tuple[str, str, bool], Arm] = defaultdict(Arm)

    def add(self, record: Tallied) -> None:
        if type(record) is MessageCommand and record.removes:
            return  # an audience removal: no message, no cost
        if isinstance(record, (Trigger, Lapse)):
            self.add_lapse(record)
        elif isinstance(record, (MessageCommand, Sent)):
            if not (isinstance(record, MessageCommand) and record.action == "cancel"):
                self.add_message(record)
        elif isinstance(record, (Retraction, Retracted)):
            self.add_retraction(record)
        elif isinstance(record, (Engagement, Engaged)):
            self.add_engagement(record)
        elif isinstance(record, (Outcome, Converted)):
            self.add_conversion(record)

    # What ``add`` does with each kind of record, for a caller that already knows the kind (a
    # backtest's report, which counts millions); ``times``: that many records equal to this one
    # (money is not counted so: ``add_conversion`` takes one conversion at a time).

    def add_lapse(self, record: Trigger | Lapse, times: int = 1) -> None:
        self.arms[record.campaign, record.variant, record.holdout].lapses += times

    def add_message(self, record: MessageCommand | Sent, times: int = 1) -> None:
        """A message sent (not a cancel, nor an audience removal)."""
        self.rows[record.campaign, record.step, record.variant, record.channel].sent += times

    def add_retraction(self, record: Retraction | Retracted, times: int = 1) -> None:
        self.arms[record.campaign, record.variant, record.holdout].retracted += times
        for key in _sent_in_error(record):
            self.rows[key].sent_in_error += times

    def add_engagement(self, record: Engagement | Engaged, times: int = 1) -> None:
        row = self.rows[record.campaign, record.step, record.variant, record.channel]
        row.actions[record.action] += times
        if record.reason is not None:
            row.reasons[record.reason] += times

    def add_conversion(self, record: Outcome | Converted) -> None:
        arm, row = self.reserve(record)
        arm.conversions += 1
        arm.revenue[record.currency] += record.revenue
        arm.squares[record.currency] += record.revenue * record.revenue
        row.convert(record)

    def reserve(self, record: Outcome | Converted) -> tuple[Arm, FunnelRow]:
        """The arm and the funnel row a conversion counts in, made (in this order) where new.

        Which money is summed first depends on the order of the arms: a tally that adds a
        conversion later (a backtest shard's, merged in the log's order) reserves its places now."""
        arm = self.arms[record.campaign, record.variant, record.holdout]
        step = record.step if record.step is not None else NO_STEP
        return arm, self.rows[record.campaign, step, record.variant, record.channel or NO_CHANNEL]

    def summary(self) -> dict[str, Any]:
        """Every campaign's funnel rows, variants with lift over the holdout, and leading variant (JSON-ready)."""
        money = Money(self.economics, {currency for arm in self.arms.values() for currency in arm.revenue})
        campaigns = sorted({key[0] for key in self.rows} | {key[0] for key in self.arms})
        return {"currency": money.currency, "campaigns": {campaign: self._campaign(campaign, money) for campaign in campaigns}}

    def _campaign(self, campaign: str, money: Money) -> dict[str, Any]:
        send_costs = {str(channel): cost for channel, cost in self.economics.send_costs.items()}
        funnel = [
            {
                "step": step if step != NO_STEP else None,
                "variant": variant,
                "channel": channel if channel != NO_CHANNEL else None,
                **row.as_dict(money, row.sent * send_costs.get(channel, 0.0)),
            }
            for (name, step, variant, channel), row in sorted(self.rows.items(), key=_steps_first)
            if name == campaign
        ]
        holdout = Arm()
        for (name, _, held_out), arm in self.arms.items():
            if name == campaign and held_out:
                holdout.add(arm)
        variants = {variant: arm for (name, variant, held_out), arm in sorted(self.arms.items()) if name == campaign and not held_out}
        reasons: Counter[str] = Counter()
        for (name, *_), row in self.rows.items():
            if name == campaign:
                reasons.update(row.reasons)
        return {
            "funnel": funnel,
            "feedback": {"answers": sum(reasons.values()), "reasons": dict(sorted(reasons.items()))},
            "variants": {variant: {**arm.as_dict(money), "lift": lift(arm, holdout, money)} for variant, arm in variants.items()},
            "holdout": holdout.as_dict(money),
            "leader": leader(variants),
        }


def lift(arm: Arm, holdout: Arm, money: Money) -> dict[str, Any]:
    """The arm against the holdout: conversion rate difference (Newcombe) and revenue per lapse difference (Welch)."""
    sample, base = arm.revenue_sample(money), holdout.revenue_sample(money)
    return {
        "conversion_rate": _interval(proportion_difference(arm.conversions, arm.lapses, holdout.conversions, holdout.lapses)),
        "revenue_per_lapse": _interval(mean_difference(sample, base) if sample is not None and base is not None else None),
    }


def leader(variants: dict[str, Arm]) -> dict[str, Any] | None:
    """The variant with the highest conversion rate (ties by name), its lead over the runner-up and
    whether the lead is significant yet (None: no variant has a lapse)."""
    ranked = sorted(
        ((arm.conversions / arm.lapses, name) for name, arm in variants.items() if arm.lapses), key=lambda pair: (-pair[0], pair[1])
    )
    if not ranked:
        return None
    best = ranked[0][1]
    if len(ranked) == 1:
        return {"variant": best, "runner_up": None, "lead": None, "significant": None}
    runner_up = ranked[1][1]
    first, second = variants[best], variants[runner_up]
    lead = proportion_difference(first.conversions, first.lapses, second.conversions, second.lapses)
    return {"variant": best, "runner_up": runner_up, "lead": _interval(lead), "significant": lead.significant if lead else None}


def _interval(interval: Interval | None) -> dict[str, Any] | None:
    if interval is None:
        return None
    return {
        "difference": _round(interval.estimate),
        "low": _round(interval.low),
        "high": _round(interval.high),
        "significant": interval.significant,
    }


_ACTION_NAMES = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "complaint": "complained",
    "unsubscribe": "unsubscribed",
    "feedback": "feedback",
}


def _steps_first(item: tuple[tuple[str, int, str, str], FunnelRow]) -> tuple[Any, ...]:
    """Rows in step order, then the conversions credited to no message."""
    (campaign, step, variant, channel), _ = item
    return campaign, step == NO_STEP, step, variant, channel


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _cents(amount: float | None) -> float | None:
    return round(amount, 2) if amount is not None else None


def _round(value: float | None) -> float | None:
    return round(value, 6) if value is not None else None
