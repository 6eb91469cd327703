"""The CPython floor of the backtest's design: could any pure-Python rewrite reach 250k events/s? (issue 22)

On the sparse and dense logs of benchmarks/backtest.py (its ``event_log``), in one run, CPU time
of this process (median of ``--repeat`` runs, the garbage collector off as in the backtest):

* (a) read the file and decode every line into its event Struct with msgspec alone, in one
  call (no checks, no event times: the C decoder's own floor for Python event objects); the
  same with the codec's checks and event times (``codec.decode_batch_at``), no grouping; read the file and file its lines by customer
  (``EventLog.from_text``, the backtest's own reader), no decoding; and both, each customer's
  lines decoded into events in order (``EventLog.customers``): what every backtest of this
  design does before the engine;
* (b) that, plus the least Python the design needs per series record: one function call per
  stage entry, message and skip that builds a small record and counts it into a dict, as many
  of them per event as the real backtest's report has (spread over the customers by their
  events); and (b+) one call per event too, folding it into a small per-customer state;
* (c) the real backtest (``backtest_file``, the example policy or ``--policy``);
* (d) DuckDB's stage-entry query on one thread (``streams.backtest.stage_sql``), whose counts
  must equal the backtest's.

Each as events per second of CPU and as a share of the 250,000 events/s goal.  When (a) alone
is near or under the goal, no redesign of the per-step logic in Python reaches it: that needs
the reading and the steps outside the interpreter (a compiled engine or a columnar one).

    python benchmarks/backtest_floor.py [--sparse 60000] [--dense 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import NamedTuple

import msgspec

from backtest import add_workloads, event_log, timed
from ceilings import spread
from streams.backtest.event_log import EventLog, read_text
from streams.backtest.report import Report
from streams.backtest.run import backtest_file, without_gc
from streams.backtest.stage_sql import stage_entries
from streams.model.codec import decode_batch_at
from streams.model.events import AnyInput
from streams.policy.loading import load_policy
from streams.policy.sections import Policy

GOAL = 250_000  # events/s per core (issue 22)
DAY = 86_400.0


class Step(NamedTuple):
    """The least a series record can be: whose, which, when."""

    customer_id: str
    number: int
    at: float


class Seen(NamedTuple):
    """The least per-customer state an event can be folded into."""

    events: int
    last: float


def count_step(tally: dict[int, int], customer_id: str, number: int, at: float) -> None:
    """One series record: built and counted, as the report counts each."""
    step = Step(customer_id, number, at)
    tally[step.number] = tally.get(step.number, 0) + 1


def fold(seen: Seen, at: float) -> Seen:
    """One event folded into the customer's state."""
    return Seen(seen.events + 1, max(seen.last, at))


def decode_structs(path: Path) -> int:
    """(a), msgspec alone: every line of the file into its event Struct in one call; the events."""
    with without_gc():
        return len(msgspec.json.Decoder(AnyInput).decode_lines(path.read_bytes()))


def decode_all(path: Path, now: float) -> int:
    """(a) without grouping: every line of the file decoded in one call; the events decoded."""
    with without_gc():
        decoded = decode_batch_at(path.read_bytes().splitlines(), now=now)
    if decoded is None:
        raise SystemExit(f"{path}: not every line is a plain valid event")
    return len(decoded[0])


def read_and_file(path: Path, now: float) -> EventLog:
    """(a) without decoding: the lines read and filed under their customers."""
    with without_gc():
        return EventLog.from_text(read_text(path), now=now)


def read_and_group(path: Path, now: float) -> list[int]:
    """(a): every line read, filed and decoded, customer by customer; each customer's event count."""
    with without_gc():
        return [len(customer.events) for customer in read_and_file(path, now).customers()]


def with_records(path: Path, now: float, shares: list[int], per_event: bool) -> int:
    """(b): (a) and each customer's share of the series records built and counted (``per_event``:
    each event folded into a state first); the records counted."""
    tally: dict[int, int] = {}
    with without_gc():
        for customer, share in zip(read_and_file(path, now).customers(), shares):
            if per_event:
                seen = Seen(0, 0.0)
                for at in customer.times:
                    seen = fold(seen, at)
            at = customer.times[-1]
            for number in range(share):
                count_step(tally, customer.customer_id, number, at + number * DAY)
    return sum(tally.values())


def series_records(report: Report) -> dict[str, int]:
    """The records of the backtest's series, by kind, as its report counts them."""
    return {
        "stage entries": sum(report.triggers.values()),
        "messages": sum(report.commands.values()),
        "skips": sum(report.skips.values()),
        "cancels": report.cancels,
    }


def workload(name: str, path: Path, policy: Policy, repeat: int) -> list[list[str]]:
    """The workload's rows: each floor, the backtest and DuckDB, in events/s of CPU."""
    now = time.time()
    report, _, backtest_cpu = timed(lambda: backtest_file(path, policy, now=now), repeat)
    assert isinstance(report, Report)
    records = series_records(report)
    per_event = sum(records.values()) / report.events
    _, _, structs_cpu = timed(lambda: decode_structs(path), repeat)
    _, _, decoding_cpu = timed(lambda: decode_all(path, now), repeat)
    _, _, filing_cpu = timed(lambda: read_and_file(path, now), repeat)
    counts, _, reading_cpu = timed(lambda: read_and_group(path, now), repeat)
    assert isinstance(counts, list) and sum(counts) == report.events - report.after_until
    shares = list(spread(per_event, counts))
    _, _, records_cpu = timed(lambda: with_records(path, now, shares, per_event=False), repeat)
    _, _, folded_cpu = timed(lambda: with_records(path, now, shares, per_event=True), repeat)
    sql, _, sql_cpu = timed(lambda: stage_entries(path, policy, threads=1), repeat)
    if sql != dict(report.triggers):
        raise SystemExit(f"{name}: DuckDB's stage entries {sql} are not the backtest's {dict(report.triggers)}")
    print(
        f"{name}: {report.events:,} events, {report.customers:,} customers; series records per event "
        f"{per_event:.2f} ({', '.join(f'{kind} {count / report.events:.2f}' for kind, count in records.items())})"
    )
    stages = [
        ("(a) read + msgspec into event Structs, one call, no checks", structs_cpu),
        ("(a) read + decode all lines in one call (codec), no grouping", decoding_cpu),
        ("(a) read + file lines by customer, no decoding", filing_cpu),
        ("(a) read + file + decode by customer (the log's reader)", reading_cpu),
        (f"(b) (a) + a call per series record ({sum(shares):,})", records_cpu),
        ("(b+) (b) + a call per event", folded_cpu),
        ("(c) the real backtest", backtest_cpu),
        ("(d) DuckDB stage-entry query, 1 thread", sql_cpu),
    ]
    return [
        [name, what, f"{report.events / cpu:,.0f}", f"{cpu * 1e6 / report.customers:.1f}", f"{report.events / cpu / GOAL:.2f}x"]
        for what, cpu in stages
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_workloads(parser, sparse=60_000, dense=5_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the median CPU time is printed")
    args = parser.parse_args()

    policy = load_policy(args.policy)
    print(f"policy: {args.policy}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    header = ["workload", "what runs", "events/s (CPU)", "CPU µs/customer", f"/ {GOAL:,} goal"]
    rows = [row for name, customers in (("sparse", args.sparse), ("dense", args.dense)) for row in workload(name, event_log(name, customers), policy, args.repeat)]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, *rows]:
        print(" | ".join(cell.ljust(width) if column < 2 else cell.rjust(width) for column, (cell, width) in enumerate(zip(row, widths))))
    print("load average (1, 5, 15 min): " + ", ".join(f"{load:.1f}" for load in os.getloadavg()))


if __name__ == "__main__":
    main()
