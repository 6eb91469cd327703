"""The backtest's report: what a replay saw and what the policy would have emitted, counted.

``Report.count`` takes a full record or what ``COUNTING`` keeps of one: a backtest whose
records nobody asked for gives the engine ``COUNTING`` as its recorder, which makes just the
fields the report reads instead of ids, timestamps and personalisation.  The campaign KPIs
(funnel, ROI, lift with 95 % intervals) are ``streams.core.kpis``', the same as for the live
records, fed the same fields.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, NamedTuple, Sequence

from streams.core.controls.assignment import Assignment
from streams.core.kpis import Converted, Engaged, KpiTally, Lapse, Retracted, Sent
from streams.core.lifecycle import EntryCause
from streams.core.recorders import LateEvent
from streams.core.series import PlannedStep, SendPlan, SentMessage, StepDecision, campaign_of
from streams.model.activity import CustomerActivity
from streams.model.codec import Rejection
from streams.policy.sections import Economics
from streams.model.events import CHANNELS, EngagementAction, FeedbackReason, Purchase
from streams.model.records import (
    SKIP_REASONS,
    STAGES,
    TRIGGER_STAGES,
    Audience,
    Engagement,
    Erased,
    MessageCommand,
    Outcome,
    Record,
    Retraction,
    Skip,
    SkipAction,
    SkipReason,
    Trigger,
    to_datetime,
)

REJECTION_EXAMPLES = 5  # how many rejected lines the report quotes
_CAMPAIGNS = tuple(campaign_of(stage) for stage in STAGES)  # the campaign each stage code starts


class UnsettledReport(RuntimeError):
    """A report read while records ``count_all`` tallied wait for ``settle``: its figures would
    leave them out.  A fault of the caller, not of the log."""


@dataclass
class GroupFigures:
    """One campaign group's funnel: customers triggered, messages sent, conversions and revenue."""

    triggered: int = 0
    commands: int = 0
    conversions: int = 0
    revenue: float = 0.0

    def add(self, other: GroupFigures) -> None:
        self.triggered += other.triggered
        self.commands += other.commands
        self.conversions += other.conversions
        self.revenue += other.revenue

    @property
    def rate(self) -> float | None:
        """Reactivation rate: conversions per triggered lapse."""
        return self.conversions / self.triggered if self.triggered else None

    def lift(self, holdout: GroupFigures) -> dict[str, float | None] | None:
        """This group against the holdout: rate difference (absolute and relative) and revenue per lapse."""
        if self.rate is None or holdout.rate is None:
            return None
        revenue_per = self.revenue / self.triggered - holdout.revenue / holdout.triggered
        return {
            "rate_points": round(self.rate - holdout.rate, 4),
            "relative": round(self.rate / holdout.rate - 1, 4) if holdout.rate else None,
            "revenue_per_lapse": round(revenue_per, 2),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "triggered": self.triggered,
            "commands": self.commands,
            "conversions": self.conversions,
            "revenue": round(self.revenue, 2),
            "reactivation_rate": round(self.rate, 4) if self.rate is not None else None,
        }


@dataclass
class Report:
    """What a backtest saw and what the policy would have emitted."""

    events: int = 0  # valid event lines, duplicates included
    duplicates: int = 0  # valid lines ignored as redeliveries of an event already applied
    after_until: int = 0  # valid events later than ``until``, left out
    customers: int = 0
    erasures: int = 0  # customers the shop erased (erasure lines applied); they end in no stage
    rejected: int = 0
    rejected_reasons: Counter[str] = field(default_factory=Counter)
    rejected_examples: list[dict[str, Any]] = field(default_factory=list)
    until: float | None = None
    state_bytes: int = 0  # serialized size of every customer's final state (table sizing)
    triggers: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(TRIGGER_STAGES, 0)))
    # Of those, the entries the policy's predictive trigger started (``Trigger.reason``).
    predictive_triggers: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(TRIGGER_STAGES, 0)))
    commands: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(CHANNELS, 0)))
    stages: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(STAGES, 0)))
    skips: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(SKIP_REASONS, 0)))
    skip_actions: Counter[str] = field(default_factory=Counter)
    retractions: int = 0  # triggers a late event withdrawn (``streams.core.retraction``)
    cancels: int = 0  # cancel commands for the retracted series' unsent steps
    sent_in_error: int = 0  # messages of a retracted series sent before the late event arrived
    groups: dict[tuple[str, str, bool], GroupFigures] = field(default_factory=dict)  # (campaign, variant, holdout)
    kpis: KpiTally = field(default_factory=lambda: KpiTally(Economics()))  # give it the policy's economics
    settle_every: ClassVar[int] = 10_000  # conversions ``count_all`` keeps before it counts what it kept

    def reject(self, line: int, rejection: Rejection) -> None:
        self.rejected += 1
        self.rejected_reasons[rejection.reason] += 1
        if len(self.rejected_examples) < REJECTION_EXAMPLES:
            self.rejected_examples.append({"line": line, "reason": rejection.reason, "detail": rejection.detail})

    def count(self, record: Record | Counted) -> None:
        """Count a full record, or what ``COUNTING`` keeps of one (the same fields).

        Looked up by the record's class (a backtest counts millions), not tested class by class."""
        self._counters[type(record)](record, 1)

    def count_all(self, records: Sequence[Counted]) -> None:
        """Count what ``COUNTING`` kept of one customer's records, by the next ``settle``.

        A backtest's records are few distinct values many times over (the same message of the
        same campaign to thousands of customers): they are tallied by value here, in C, and
        each distinct one is counted once, with how many times it came, by ``settle``, which
        runs once ``settle_every`` conversions wait (each is distinct, by its money: what
        piles up) and once at the end.  Tallied as tuples: no two ``Counted`` types can hold
        equal values (tests/unit/backtest/test_report_by_value.py); keying by type too cost
        ~2 % of the replay's instructions."""
        self._pending.update(records)
        if Converted in map(type, records):
            self._conversions += [record for record in records if type(record) is Converted]
            if len(self._conversions) >= self.settle_every:
                self.settle()

    def settle(self) -> None:
        """Count what ``count_all`` tallied: the same report as counting each record in turn.

        The distinct records are counted in the order each first came, so every key of the
        report is made in the order counting one by one would make it; the conversions, whose
        money is summed in their order, then one at a time in theirs (their keys made in place).
        Settling after any customer gives the same report: the keys of the customers before
        come first either way, and the money is summed in the same order."""
        for record, times in self._pending.items():
            if type(record) is Converted:
                self.reserve(record)
            else:
                self._counters[type(record)](record, times)
        self._pending.clear()
        for conversion in self._conversions:
            self._count_conversion(conversion, 1)
        self._conversions.clear()

    def __post_init__(self) -> None:
        self._pending: Counter[Counted] = Counter()  # ``count_all``'s records, not yet counted
        self._conversions: list[Converted] = []  # ``count_all``'s conversions, in order
        self._counters: dict[type, Callable[[Any, int], None]] = {
            **dict.fromkeys((Trigger, Lapse), self._count_lapse),
            MessageCommand: self._count_command,
            Sent: self._count_message,
            CancelCount: self._count_cancel,
            **dict.fromkeys((Skip, SkipCount), self._count_skip),
            **dict.fromkeys((Outcome, Converted), self._count_conversion),
            **dict.fromkeys((Engagement, Engaged), self._count_engagement),
            Erased: self._count_erasure,
            **dict.fromkeys((Retraction, Retracted), self._count_retraction),
            Removed: lambda record, times: None,  # an audience removal (counting mode): not a message
        }

    # Each counts ``times`` records equal to ``record``.

    def _count_lapse(self, record: Trigger | Lapse, times: int) -> None:
        self.kpis.add_lapse(record, times)
        self.triggers[record.stage] += times
        if record.reason == "predictive":
            self.predictive_triggers[record.stage] += times
        self._group(record.campaign, record.variant, record.holdout).triggered += times

    def _count_command(self, record: MessageCommand, times: int) -> None:
        """A command sends a message, or cancels one (``action: cancel``), which is no message; an
        audience removal is neither a message nor a decision about a step: not counted."""
        if record.action == "cancel":
            self._count_cancel(record, times)
        elif not record.removes:
            self._count_message(record, times)

    def _count_message(self, record: MessageCommand | Sent, times: int) -> None:
        self.kpis.add_message(record, times)
        self.commands[record.channel] += times
        self._group(record.campaign, record.variant, False).commands += times

    def _count_cancel(self, record: MessageCommand | CancelCount, times: int) -> None:
        self.cancels += times

    def _count_skip(self, record: Skip | SkipCount, times: int) -> None:
        self.skips[record.reason] += times
        self.skip_actions[record.action] += times

    def _count_conversion(self, record: Outcome | Converted, times: int) -> None:
        """One conversion (``times`` is 1: money is summed one conversion at a time, in order)."""
        self.kpis.add_conversion(record)
        group = self._group(record.campaign, record.variant, record.holdout)
        group.conversions += 1
        group.revenue += record.revenue

    def reserve(self, record: Outcome | Converted) -> None:
        """Make the entries a conversion counts in, where new, as counting it would, without counting it."""
        self.kpis.reserve(record)
        self._group(record.campaign, record.variant, record.holdout)

    def _count_engagement(self, record: Engagement | Engaged, times: int) -> None:
        self.kpis.add_engagement(record, times)

    def _count_erasure(self, record: Erased, times: int) -> None:
        self.erasures += times

    def _count_retraction(self, record: Retraction | Retracted, times: int) -> None:
        self.kpis.add_retraction(record, times)
        self.retractions += times
        self.sent_in_error += len(record.sent_in_error) * times

    def _group(self, campaign: str, variant: str, holdout: bool) -> GroupFigures:
        key = (campaign, variant, holdout)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = GroupFigures()
        return group

    def campaigns(self) -> dict[str, Any]:
        """Per campaign: each variant's figures and lift against the campaign's holdout, and the holdout's."""
        out: dict[str, Any] = {}
        for campaign in sorted({campaign for campaign, _, _ in self.groups}):
            holdout = GroupFigures()
            for (name, _, held_out), group in self.groups.items():
                if name == campaign and held_out:
                    holdout.add(group)
            variants = {
                variant: {**group.as_dict(), "lift_vs_holdout": group.lift(holdout)}
                for (name, variant, held_out), group in sorted(self.groups.items())
                if name == campaign and not held_out
            }
            out[campaign] = {"variants": variants, "holdout": holdout.as_dict()}
        return out

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``winback backtest --format json``), of a settled report (else ``UnsettledReport``)."""
        waiting = self._pending.total()  # the conversions waiting are among them
        if waiting:
            raise UnsettledReport(f"{waiting} record(s) tallied by count_all are not counted yet: call settle() before reading the report")
        return {
            "events": self.events,
            "duplicates": self.duplicates,
            "after_until": self.after_until,
            "customers": self.customers,
            "erasures": self.erasures,
            "rejected": self.rejected,
            "rejected_reasons": dict(sorted(self.rejected_reasons.items())),
            "rejected_examples": self.rejected_examples,
            "until": to_datetime(self.until).isoformat() if self.until is not None else None,
            "triggers": dict(self.triggers),
            "predictive_triggers": dict(self.predictive_triggers),
            "commands": dict(self.commands),
            "stages": dict(self.stages),
            "skips": dict(self.skips),
            "skip_actions": dict(sorted(self.skip_actions.items())),
            "retractions": {"retracted": self.retractions, "cancels": self.cancels, "sent_in_error": self.sent_in_error},
            "campaigns": self.campaigns(),
            "kpis": self.kpis.summary(),
            "state_bytes_per_customer": round(self.state_bytes / self.customers, 1) if self.customers else 0,
        }


class SkipCount(NamedTuple):
    """What a report counts of a ``Skip``."""

    reason: SkipReason
    action: SkipAction


class CancelCount(NamedTuple):
    """What a report counts of a cancel command."""

    channel: str
    action: str = "cancel"


class Removed(NamedTuple):
    """What a report keeps of an audience removal: nothing it counts."""

    channel: str



Counted = Lapse | Sent | SkipCount | Converted | Engaged | CancelCount | Retracted | Removed


class _Counting:
    """The recorder of a backtest that nobody asked for the records of: each decision as just
    the fields ``Report.count`` reads, the values the full record would have had.  Ids (a SHA-1
    each), timestamps and the personalisation of every command would be most of the replay's time."""

    @staticmethod
    def trigger(customer_id: str, state: CustomerActivity, last_activity: float, group: Assignment, cause: EntryCause) -> Lapse:
        return Lapse(STAGES[state.stage], _CAMPAIGNS[state.stage], group.variant, group.holdout, cause.reason)

    @staticmethod
    def command(customer_id: str, state: CustomerActivity, step: PlannedStep, last_activity: float, plan: SendPlan) -> Sent:
        return Sent(plan.channel, _CAMPAIGNS[state.stage], step.index, plan.group.variant)

    @staticmethod
    def skip(
        decision: StepDecision, reason: SkipReason, action: SkipAction, channel: str | None = None, deferred_to: float | None = None
    ) -> SkipCount:
        return SkipCount(reason, action)

    @staticmethod
    def outcome(
        customer_id: str, state: CustomerActivity, purchase: Purchase, at: float, group: Assignment, sent: SentMessage | None
    ) -> Converted:
        campaign = campaign_of(STAGES[state.touch_stage])
        if sent is None:
            return Converted(campaign, group.variant, group.holdout, purchase.amount, purchase.currency, None, None, None, purchase.discount_code)
        return Converted(
            campaign, group.variant, group.holdout, purchase.amount, purchase.currency,
            sent.step.index, sent.channel, sent.offer(), purchase.discount_code,
        )

    @staticmethod
    def engagement(
        customer_id: str, sent: SentMessage, action: EngagementAction, at: float, reason: FeedbackReason | None
    ) -> Engaged:
        return Engaged(campaign_of(STAGES[sent.stage]), sent.step.index, sent.variant, sent.channel, action, reason)

    @staticmethod
    def cancel(decision: StepDecision, active_at: float) -> CancelCount:
        return CancelCount(decision.step.channel)

    @staticmethod
    def retraction(
        customer_id: str, state: CustomerActivity, late: LateEvent, group: Assignment, cancelled: list[int], sent: list[SentMessage]
    ) -> Retracted:
        rows = tuple((campaign_of(STAGES[message.stage]), message.step.index, message.variant, message.channel) for message in sent)
        return Retracted(campaign_of(STAGES[state.stage]), group.variant, group.holdout, rows)

    @staticmethod
    def removal(customer_id: str, state: CustomerActivity, sent: SentMessage, audience: Audience, at: float) -> Removed:
        return Removed(sent.channel)


COUNTING = _Counting()
