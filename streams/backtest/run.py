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
from typing import Callable, Iterable, Iterator, Literal

from streams.backtest.event_log import CustomerEvents, EventLog, read_text
from streams.backtest.report import COUNTING, Report
from streams.core.engine import Engine
from streams.core.kpis import KpiTally
from streams.core.recorders import FULL
from streams.model.activity import CustomerActivity
from streams.model.codec import DEFAULT_LIMITS, Limits
from streams.model.records import STAGES, Record
from streams.policy.sections import Policy


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
    with _without_gc():
        log = EventLog.from_text(read_text(path), limits=limits, now=now, arrival_order=order == "arrival")
        return _run(log, policy, until, None)


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
    with _without_gc():
        return _run(EventLog(lines, limits=limits, now=now, arrival_order=order == "arrival"), policy, until, on_record)


def _run(log: EventLog, policy: Policy, until: float | None, on_record: Callable[[str, Record], None] | None) -> Report:
    report = Report(kpis=KpiTally(policy.economics))
    engine = Engine(policy, FULL if on_record is not None else COUNTING)
    replayed: list[tuple[str, CustomerActivity | None, list[Record]]] = []
    latest = None
    for customer, arrivals in _customers(log, report):
        last = customer.times[-1] if arrivals is None else max(customer.times)
        if latest is None or last > latest:
            latest = last
        if arrivals is None:
            replayed.append(_replay_customer(engine, customer, until, report, log.now))
        else:
            replayed.append(_arrive_customer(engine, customer, arrivals, until, report, log.now))
    for number, rejection in log.rejections:
        report.reject(number, rejection)
    if until is None:
        until = latest
    report.until = until
    report.customers = len(replayed)
    if until is not None:  # None only when no customer has a valid event
        for customer_id, state, emitted in replayed:
            _finish_customer(engine, customer_id, state, emitted, until, report, on_record)
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
    engine: Engine, customer: CustomerEvents, until: float | None, report: Report, now: float | None
) -> tuple[str, CustomerActivity | None, list[Record]]:
    """Apply the customer's events up to ``until`` (all of them when None): their state and
    records.  ``now`` bounds how far ahead a profile's time counts, as in a worker."""
    customer_id, events, times = customer.customer_id, customer.events, customer.times
    if until is not None and times[-1] > until:
        kept = bisect_right(times, until)
        report.after_until += len(times) - kept
        if not kept:
            return customer_id, None, []
        events, times = events[:kept], times[:kept]
    state, emitted, duplicates = engine.replay(customer_id, None, events, times, now=now)
    report.duplicates += duplicates
    return customer_id, state, emitted


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
) -> tuple[str, CustomerActivity | None, list[Record]]:
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
    if not state.is_erased():
        report.stages[STAGES[state.stage]] += 1
    report.state_bytes += len(state.encode())
    for record in emitted:
        report.count(record)
        if on_record is not None:
            on_record(customer_id, record)
