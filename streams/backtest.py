"""Backtest: replay a JSON-lines event log through the engine and count what a policy would have done.

The same ``Engine`` as the stream processor runs over the history in event-time order, so a
backtest answers "how many customers would this policy have mailed, and when" before it goes
live.  Customers are independent, so events are grouped per customer and each customer's
events are replayed in (time, event id) order: the report does not depend on the order of the
file's lines, and duplicated lines change nothing but the ``duplicates`` count.  Events after
``until`` are left out; everything due at or before ``until`` fires.  Bad lines are counted as
rejected with their reason, never fatal.

A line is bad by the stream's own rules (``codec``), far-future times included: a line dated
more than ``max_future_skew_seconds`` after the wall clock at the run is rejected as
``future_timestamp``, as a worker dead-letters a record dated that far after its arrival.  A
historical log was written before the run, so none of its real events is that late, while a
mistyped year (2099) would otherwise become the report's end and sunset everyone.  Judged
against ``until`` instead, every event after a mid-history ``until`` would be rejected rather
than left out; judged against the log's latest event, the bad line would set the reference.
"""

from __future__ import annotations

import gc
import gzip
import time
import zlib
from bisect import bisect_right
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from streams.activity import CustomerActivity
from streams.assignment import Assignment
from streams.campaign import PlannedStep, SendPlan, StepDecision, campaign_of
from streams.codec import DEFAULT_LIMITS, Limits, Rejection
from streams.commands import (
    CHANNELS,
    SKIP_REASONS,
    Channel,
    MessageCommand,
    Outcome,
    Skip,
    SkipAction,
    SkipReason,
    Trigger,
    to_datetime,
)
from streams.engine import Engine, Record
from streams.event_log import CustomerEvents, EventLog
from streams.events import Purchase
from streams.lifecycle import STAGES
from streams.policy import STAGES as TRIGGER_STAGES
from streams.policy import Policy
from streams.records import FULL

REJECTION_EXAMPLES = 5  # how many rejected lines the report quotes


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
    rejected: int = 0
    rejected_reasons: Counter[str] = field(default_factory=Counter)
    rejected_examples: list[dict[str, Any]] = field(default_factory=list)
    until: float | None = None
    state_bytes: int = 0  # serialized size of every customer's final state (table sizing)
    triggers: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(TRIGGER_STAGES, 0)))
    commands: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(CHANNELS, 0)))
    stages: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(STAGES, 0)))
    skips: Counter[str] = field(default_factory=lambda: Counter(dict.fromkeys(SKIP_REASONS, 0)))
    skip_actions: Counter[str] = field(default_factory=Counter)
    groups: dict[tuple[str, str, bool], GroupFigures] = field(default_factory=dict)  # (campaign, variant, holdout)

    def reject(self, line: int, rejection: Rejection) -> None:
        self.rejected += 1
        self.rejected_reasons[rejection.reason] += 1
        if len(self.rejected_examples) < REJECTION_EXAMPLES:
            self.rejected_examples.append({"line": line, "reason": rejection.reason, "detail": rejection.detail})

    def count(self, record: Record | Counted) -> None:
        """Count a full record, or what ``COUNTING`` keeps of one (the same fields)."""
        kind = record.__class__
        if kind is Trigger or kind is TriggerCount:
            self.triggers[record.stage] += 1  # type: ignore[union-attr]
            self._group(record.campaign, record.variant, record.holdout).triggered += 1  # type: ignore[union-attr]
        elif kind is MessageCommand or kind is CommandCount:
            self.commands[record.channel] += 1  # type: ignore[union-attr]
            self._group(record.campaign, record.variant, False).commands += 1  # type: ignore[union-attr]
        elif kind is Skip or kind is SkipCount:
            self.skips[record.reason] += 1  # type: ignore[union-attr]
            self.skip_actions[record.action] += 1  # type: ignore[union-attr]
        elif kind is Outcome or kind is OutcomeCount:
            group = self._group(record.campaign, record.variant, record.holdout)  # type: ignore[union-attr]
            group.conversions += 1
            group.revenue += record.revenue  # type: ignore[union-attr]

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
        """The JSON form (``winback backtest --format json``)."""
        return {
            "events": self.events,
            "duplicates": self.duplicates,
            "after_until": self.after_until,
            "customers": self.customers,
            "rejected": self.rejected,
            "rejected_reasons": dict(sorted(self.rejected_reasons.items())),
            "rejected_examples": self.rejected_examples,
            "until": to_datetime(self.until).isoformat() if self.until is not None else None,
            "triggers": dict(self.triggers),
            "commands": dict(self.commands),
            "stages": dict(self.stages),
            "skips": dict(self.skips),
            "skip_actions": dict(sorted(self.skip_actions.items())),
            "campaigns": self.campaigns(),
            "state_bytes_per_customer": round(self.state_bytes / self.customers, 1) if self.customers else 0,
        }


class TriggerCount(NamedTuple):
    """What a report counts of a ``Trigger``."""

    stage: str
    campaign: str
    variant: str
    holdout: bool


class CommandCount(NamedTuple):
    """What a report counts of a ``MessageCommand``."""

    channel: Channel
    campaign: str
    variant: str


class SkipCount(NamedTuple):
    """What a report counts of a ``Skip``."""

    reason: SkipReason
    action: SkipAction


class OutcomeCount(NamedTuple):
    """What a report counts of an ``Outcome``."""

    campaign: str
    variant: str
    holdout: bool
    revenue: float


Counted = TriggerCount | CommandCount | SkipCount | OutcomeCount


class _Counting:
    """The recorder of a backtest that nobody asked for the records of: each decision as just
    the fields ``Report.count`` reads, the values the full record would have had.  Ids (a SHA-1
    each), timestamps and the personalisation of every command would be most of the replay's time."""

    @staticmethod
    def trigger(customer_id: str, state: CustomerActivity, last_activity: float, group: Assignment) -> TriggerCount:
        stage = STAGES[state.stage]
        return TriggerCount(stage, campaign_of(stage), group.variant, group.holdout)  # type: ignore[arg-type]

    @staticmethod
    def command(
        customer_id: str, state: CustomerActivity, step: PlannedStep, last_activity: float, plan: SendPlan
    ) -> CommandCount:
        return CommandCount(plan.channel, campaign_of(STAGES[state.stage]), plan.group.variant)  # type: ignore[arg-type]

    @staticmethod
    def skip(
        decision: StepDecision, reason: SkipReason, action: SkipAction, channel: Channel | None = None, deferred_to: float | None = None
    ) -> SkipCount:
        return SkipCount(reason, action)

    @staticmethod
    def outcome(customer_id: str, state: CustomerActivity, purchase: Purchase, at: float, group: Assignment) -> OutcomeCount:
        return OutcomeCount(campaign_of(STAGES[state.touch_stage]), group.variant, group.holdout, purchase.amount)  # type: ignore[arg-type]


COUNTING = _Counting()


class EventFileError(Exception):
    """An event file that cannot be read at all: missing, a directory, unreadable, or a damaged gzip.

    Bad lines are rejected one by one and counted; this is for a file with no usable lines to
    give, where a report on what was read before the failure would mislead.  The message
    names the file, says what is wrong and what to do, in one line.
    """


def read_text(path: Path, piece_bytes: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of a JSON-lines file, gunzipped when it is gzip (by content, not name), in
    pieces of about ``piece_bytes`` that end at line ends (but for the last, if the file does not).

    Raises ``EventFileError`` when the file cannot be read to its end.
    """
    try:
        with open(path, "rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as text:
            while piece := text.read(piece_bytes):
                yield piece if piece.endswith(b"\n") else piece + text.readline()
    except (OSError, EOFError, zlib.error) as error:
        raise EventFileError(f"{path}: {_why_unreadable(path, error)}") from error


def _why_unreadable(path: Path, error: OSError | EOFError | zlib.error) -> str:
    """What is wrong with the file and what to do, for ``EventFileError``."""
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return "is a directory - give the event file itself"
    if isinstance(error, PermissionError):
        return "permission denied - make it readable (chmod +r) or run as a user who can read it"
    if isinstance(error, EOFError):  # the compressed stream stops before its end marker
        size = path.stat().st_size
        return f"not a valid gzip file (truncated at byte {size}?) - it ends before its data does; copy or export it again"
    if isinstance(error, (gzip.BadGzipFile, zlib.error)):
        return f"not a valid gzip file ({error}) - the compressed data is damaged; copy or export it again"
    return f"cannot read it ({error.strerror or error})"


def backtest_file(
    path: Path, policy: Policy, *, until: float | None = None, limits: Limits = DEFAULT_LIMITS, now: float | None = None
) -> Report:
    """``run_backtest`` of the file's non-blank lines, read in pieces (``read_text``)."""
    now = time.time() if now is None else now
    with _without_gc():
        return _run(EventLog.from_text(read_text(path), limits=limits, now=now), policy, until, None)


def run_backtest(
    lines: Iterable[bytes],
    policy: Policy,
    *,
    until: float | None = None,
    on_record: Callable[[str, Record], None] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    now: float | None = None,
) -> Report:
    """Replay ``lines`` under ``policy`` up to ``until`` (default: the latest event's time).

    Lines are checked against ``limits`` as a worker checks records; ``now`` is the wall
    clock that far-future times are judged against (default: the time of the call).

    ``on_record(customer_id, record)`` sees every trigger and command, in each customer's order,
    as the full record the stream would publish; without it the engine records only what the
    report counts (``COUNTING``).

    Each customer's events are decoded, applied and dropped in turn; their last records,
    those due up to ``until`` after their last event, wait until ``until`` is known (the
    latest event of the whole log when it is not given).
    """
    now = time.time() if now is None else now
    with _without_gc():
        return _run(EventLog(lines, limits=limits, now=now), policy, until, on_record)


def _run(log: EventLog, policy: Policy, until: float | None, on_record: Callable[[str, Record], None] | None) -> Report:
    report = Report()
    engine = Engine(policy, FULL if on_record is not None else COUNTING)
    replayed: list[tuple[str, CustomerActivity | None, list[Record]]] = []
    latest = None
    for customer in log.customers():
        report.events += len(customer.times)
        if latest is None or customer.times[-1] > latest:
            latest = customer.times[-1]
        replayed.append(_replay_customer(engine, customer, until, report))
    for number, rejection in log.rejections:
        report.reject(number, rejection)
    if until is None:
        until = latest
    report.until = until
    report.customers = len(replayed)
    for customer_id, state, emitted in replayed:
        _finish_customer(engine, customer_id, state, emitted, until, report, on_record)  # type: ignore[arg-type]
    return report


@contextmanager
def _without_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector.

    A backtest builds millions of long-lived, acyclic objects; each allocation burst would make
    the collector rescan all of them (about a third of the run time), for nothing to collect.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _replay_customer(
    engine: Engine, customer: CustomerEvents, until: float | None, report: Report
) -> tuple[str, CustomerActivity | None, list[Record]]:
    """Apply the customer's events up to ``until`` (all of them when None): their state and records."""
    customer_id, events, times = customer.customer_id, customer.events, customer.times
    if until is not None and times[-1] > until:
        kept = bisect_right(times, until)
        report.after_until += len(times) - kept
        if not kept:
            return customer_id, None, []
        events, times = events[:kept], times[:kept]
    state, emitted, duplicates = engine.replay(customer_id, None, events, times)
    report.duplicates += duplicates
    return customer_id, state, emitted


def _finish_customer(
    engine: Engine,
    customer_id: str,
    state: CustomerActivity | None,
    emitted: list[Record],
    until: float,
    report: Report,
    on_record: Callable[[str, Record], None] | None,
) -> None:
    """Fire what is due up to ``until`` and count the customer's records and final state."""
    if state is None:
        return
    emitted.extend(engine.advance(customer_id, state, until).records)
    report.stages[STAGES[state.stage]] += 1
    report.state_bytes += len(state.encode())
    for record in emitted:
        report.count(record)
        if on_record is not None:
            on_record(customer_id, record)
