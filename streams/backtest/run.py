"""Backtest: replay a JSON-lines event log through the engine and count what a policy would have done.

The same ``Engine`` as the stream processor runs over the history in event-time order, so a
backtest answers "how many customers would this policy have mailed, and when" before it goes
live.  Customers are independent, so events are grouped per customer and each customer's
events are replayed in (time, event id) order: the report does not depend on the order of the
file's lines, and duplicated lines change nothing but the ``duplicates`` count.  Events after
``until`` are left out; everything due at or before ``until`` fires.  Bad lines are counted as
rejected with their reason, never fatal.

``order="arrival"`` replays the file as a stream would have received it instead: line by line,
with the clock at the latest time read so far (what a worker's scheduler has fired up to when
the line arrives), so a line dated before that is a late event, and one that would have
prevented a trigger already fired retracts it under the policy's ``late_events``
(``streams.core.retraction``).  The whole file's decoded events are held at once for it.

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
import time
from bisect import bisect_right
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal, NamedTuple, cast

from streams.backtest.event_log import CustomerEvents, EventLog, read_text
from streams.backtest.history import History
from streams.backtest.report import COUNTING, Counted, Report
from streams.core.engine import Engine
from streams.core.kpis import KpiTally
from streams.core.recorders import FULL
from streams.model.activity import CustomerActivity
from streams.model.codec import DEFAULT_LIMITS, Limits
from streams.model.records import STAGES, Record
from streams.policy.sections import Policy

PROGRESS_EVENTS = 50_000  # events replayed between two calls of a progress callback
Order = Literal["time", "arrival"]  # each customer's events by event time, or as the lines arrive


def backtest_file(
    path: Path,
    policy: Policy,
    *,
    until: float | None = None,
    limits: Limits = DEFAULT_LIMITS,
    now: float | None = None,
    order: Order = "time",
) -> Report:
    """``run_backtest`` of the file's non-blank lines, read in pieces (``read_text``)."""
    now = time.time() if now is None else now
    with without_gc():
        log = EventLog.from_text(read_text(path), limits=limits, now=now, arrival_order=order == "arrival")
        return _run(log, policy, until, None)


def backtest_history(
    history: History, policy: Policy, *, until: float | None = None, on_events: Callable[[int], None] = lambda count: None
) -> Report:
    """``run_backtest`` of a shop's history files (``history.read_history``), its rejected lines
    numbered as in their file; ``on_events`` is told how many events were replayed, now and then."""
    with without_gc():
        return _run(history.log, policy, until, None, on_events, history.line_in_file)


def run_backtest(
    lines: Iterable[bytes],
    policy: Policy,
    *,
    until: float | None = None,
    on_record: Callable[[str, Record], None] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    now: float | None = None,
    order: Order = "time",
) -> Report:
    """Replay ``lines`` under ``policy`` up to ``until`` (default: the latest event's time), each
    customer's events in ``order``.

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
    with without_gc():
        return _run(EventLog(lines, limits=limits, now=now, arrival_order=order == "arrival"), policy, until, on_record)


def _run(
    log: EventLog,
    policy: Policy,
    until: float | None,
    on_record: Callable[[str, Record], None] | None,
    on_events: Callable[[int], None] = lambda count: None,
    line_in_file: Callable[[int], int] = lambda number: number,
) -> Report:
    report = Report(kpis=KpiTally(policy.economics))
    engine = Engine(policy, FULL if on_record is not None else COUNTING)
    replayed, latest = replay_log(engine, log, until, report, on_events)
    for number, rejection in log.rejections:
        report.reject(line_in_file(number), rejection)
    report.until = until = latest if until is None else until
    if until is not None:  # None only when no customer has a valid event
        for customer in finish(engine, replayed, until):
            count_customer(report, customer, on_record)
    report.settle()
    return report


class Replayed(NamedTuple):
    """A customer after their events up to ``until``: their state (None: every event was later)
    and records, and their place among the log's customers."""

    order: int
    customer_id: str
    state: CustomerActivity | None
    records: list[Record]


class Finished(NamedTuple):
    """A customer at the end of a backtest: what the report counts of them."""

    order: int
    customer_id: str
    records: list[Record]
    stage: int | None  # None: erased (in no stage), or no event up to ``until``
    state_bytes: int


def replay_log(
    engine: Engine, log: EventLog, until: float | None, report: Report, on_events: Callable[[int], None] = lambda count: None
) -> tuple[list[Replayed], float | None]:
    """Replay every customer's events up to ``until`` (counting events, duplicates and those left
    out in ``report``): the customers, in order, and the latest valid event's time.
    ``on_events`` is told the number of events replayed about every ``PROGRESS_EVENTS``."""
    replayed: list[Replayed] = []
    latest = None
    told = 0
    for customer, arrivals in _customers(log, report):
        last = customer.times[-1] if arrivals is None else max(customer.times)
        if latest is None or last > latest:
            latest = last
        if arrivals is None:
            replayed.append(_replay_customer(engine, customer, until, report, log.now))
        else:
            replayed.append(_arrive_customer(engine, customer, arrivals, until, report, log.now))
        if report.events - told >= PROGRESS_EVENTS:
            on_events(report.events - told)
            told = report.events
    on_events(report.events - told)
    report.customers += len(replayed)
    return replayed, latest


def finish(engine: Engine, replayed: list[Replayed], until: float) -> Iterator[Finished]:
    """Fire what is due up to ``until`` for each customer, in turn."""
    for order, customer_id, state, records in replayed:
        if state is None:
            yield Finished(order, customer_id, records, None, 0)
            continue
        records.extend(engine.advance(customer_id, state, until).records)
        stage = None if state.is_erased() else state.stage
        yield Finished(order, customer_id, records, stage, len(state.encode()))


def count_customer(report: Report, customer: Finished, on_record: Callable[[str, Record], None] | None = None) -> None:
    """Count the customer's records and final state (a customer with no event up to ``until``
    counts for nothing); with no ``on_record``, by the report's next ``settle`` (``Report.count_all``)."""
    if customer.stage is None and not customer.state_bytes:
        return
    if customer.stage is not None:
        report.stages[STAGES[customer.stage]] += 1
    report.state_bytes += customer.state_bytes
    if on_record is None:
        report.count_all(cast("list[Counted]", customer.records))  # what ``COUNTING`` made of them (a string: no alias made per customer)
        return
    for record in customer.records:
        report.count(record)
        on_record(customer.customer_id, record)


@contextmanager
def without_gc() -> Iterator[None]:
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


def _replay_customer(engine: Engine, customer: CustomerEvents, until: float | None, report: Report, now: float | None) -> Replayed:
    """Apply the customer's events up to ``until`` (all of them when None).  ``now`` bounds how
    far ahead a profile's time counts, as in a worker."""
    customer_id, events, times = customer.customer_id, customer.events, customer.times
    if until is not None and times[-1] > until:
        kept = bisect_right(times, until)
        report.after_until += len(times) - kept
        if not kept:
            return Replayed(customer.order, customer_id, None, [])
        events, times = events[:kept], times[:kept]
    state, emitted, duplicates = engine.replay(customer_id, None, events, times, now=now)
    report.duplicates += duplicates
    return Replayed(customer.order, customer_id, state, emitted)


def _customers(log: EventLog, report: Report) -> Iterator[tuple[CustomerEvents, list[float] | None]]:
    """The log's customers, each counted; in arrival order, all decoded at once, each with the
    clock at each of their lines' arrival: the latest event time of the lines before it (what a
    stream's scheduler has fired up to when the line arrives)."""
    if not log.arrival_order:
        for customer in log.customers():
            report.events += len(customer.times)
            yield customer, None
        return
    customers = list(log.customers())
    dated = sorted((line, at) for customer in customers for line, at in zip(customer.lines or (), customer.times))
    clock: dict[int, float] = {}
    latest = float("-inf")
    for line, at in dated:
        clock[line] = latest
        latest = max(latest, at)
    for customer in customers:
        report.events += len(customer.times)
        yield customer, [clock[line] for line in customer.lines or ()]


def _arrive_customer(
    engine: Engine, customer: CustomerEvents, arrivals: list[float], until: float | None, report: Report, now: float | None
) -> Replayed:
    """Apply the customer's events up to ``until`` as they arrive (``arrivals``: the clock then):
    before each, fire what was due by that clock, then apply it at that clock (a late event may
    retract)."""
    customer_id: str = customer.customer_id
    state: CustomerActivity | None = None
    emitted: list[Record] = []
    for event, at, arrived in zip(customer.events, customer.times, arrivals):
        if until is not None and at > until:
            report.after_until += 1
            continue
        if until is not None:
            arrived = min(arrived, until)  # a line left out moves no clock past the report's end
        if state is not None and arrived > float("-inf"):
            emitted.extend(engine.advance(customer_id, state, arrived).records)
        result = engine.apply_at(customer_id, state, event, at, now=now, applied_at=max(arrived, at))
        state = result.state
        emitted.extend(result.records)
        report.duplicates += result.duplicate
    return Replayed(customer.order, customer_id, state, emitted)
