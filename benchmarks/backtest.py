"""Backtest throughput beside DuckDB, on a sparse shop log (like a real one) and a dense generated one.

For each workload it prints, side by side: the backtest's events/second on one process (the
call of ``backtest_file``: read, decode, group, sort, replay, report; interpreter start and
imports excluded) and its CPU-time rate, the same backtest in ``--workers`` processes
(``winback backtest --workers``): its wall-time speed-up and its CPU seconds summed over the
parent and the workers against the one process's (on a shared machine, wall time depends on
what else runs; the CPU sum shows what the split itself costs), DuckDB computing the same
stage-entry counts with SQL from the same file (``streams.backtest.stage_sql``) on one thread
and on two (wall time; on one thread also its CPU time), the backtest's CPU time as a multiple of
DuckDB's on one thread, and the serialized state bytes per customer.  The
SQL counts must equal the backtest's triggers: the benchmark fails loudly if they do not.
Targets (issue 22): >= 250,000 events/s per core, <= 300 bytes per customer.

A second table reads the sparse log's orders and email events as a shop exports them, as JSON
lines, Parquet and CSV (``--map``), and prints each format's events/s of CPU time for reading and
decoding them (``history.read_history`` and every customer's events; no replay).

The sparse log (``traffic.sparse_history``: 1-5 orders per customer over two years, a few heavy
buyers, some newsletter engagement) and the dense one (``traffic.generate_history``) are generated
once (seeded) and reused from the cache dir.  Wall time on a shared machine is noisy: ``--repeat``
takes the median of several runs.

    python benchmarks/backtest.py [--sparse 240000] [--dense 30000] [--workers 2] [--repeat 1]
"""

from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import os
import resource
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

import msgspec
import pyarrow
import pyarrow.parquet

from streams.backtest.event_log import EventLog, read_text
from streams.backtest.history import ColumnMap, read_history
from streams.backtest.report import Report
from streams.backtest.run import backtest_file
from streams.backtest.stage_sql import stage_entries
from streams.backtest.workers import backtest_in_workers
from streams.devtools import traffic
from streams.devtools.traffic import generate_history, sparse_history, write_jsonl
from streams.policy.loading import default_policy_path, load_policy
from streams.policy.sections import Policy

CACHE = Path(tempfile.gettempdir()) / "winback-bench"
EXPORTED = ("purchase", "email")  # the event types a shop's export holds
EXPORT_COLUMNS = {  # event field -> the export's column
    "type": "kind", "event_id": "id", "customer_id": "customer", "occurred_at": "at", "order_id": "order_id",
    "amount": "amount", "currency": "currency", "action": "action", "campaign_id": "campaign_id",
}  # fmt: skip
EXPORT_MAP = ",".join(f"{name}={column}" for name, column in EXPORT_COLUMNS.items())


def event_log(name: str, customers: int) -> Path:
    """The seeded log of the workload for this version of the generator, made on first use."""
    generator = hashlib.sha1(Path(traffic.__file__).read_bytes()).hexdigest()[:8]
    path = CACHE / f"{name}-{customers}c-{generator}.jsonl"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        events = sparse_history(customers, 730) if name == "sparse" else generate_history(customers, 365, seed=7)
        count = write_jsonl(events, path)
        print(f"generated {count:,} events in {time.perf_counter() - started:.1f} s -> {path}")
    return path


def timed(run: Callable[[], object], repeat: int) -> tuple[object, float, float]:
    """The last result of ``run``, its median wall time and median CPU time (this process's and
    that of the worker processes it started and waited for)."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), cpu_seconds()
        result = run()
        walls.append(time.perf_counter() - started)
        cpus.append(cpu_seconds() - cpu_started)
    return result, statistics.median(walls), statistics.median(cpus)


def cpu_seconds() -> float:
    """User and system CPU time of this process and of its children that have ended."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def input_seconds(path: Path) -> tuple[float, float]:
    """Time to read and file the lines, and to decode every customer's batch, as the backtest
    does but without the replay, to show how its time divides."""
    gc.disable()
    try:
        started = time.perf_counter()
        log = EventLog.from_text(read_text(path))
        filed = time.perf_counter()
        for _ in log.customers():
            pass
        return filed - started, time.perf_counter() - filed
    finally:
        gc.enable()


def shop_exports(path: Path) -> dict[str, tuple[Path, ColumnMap]]:
    """The log's orders and email events (without categories) as JSON lines, Parquet (native
    timestamps) and CSV (ISO times), made beside the log on first use, each with its column map."""
    made = {kind: (path.with_suffix(f".export.{kind}"), ColumnMap.parse(None if kind == "jsonl" else EXPORT_MAP)) for kind in ("jsonl", "parquet", "csv")}
    if all(export.exists() for export, _ in made.values()):
        return made
    with open(path, "rb") as lines:
        events = [event for event in map(msgspec.json.decode, lines) if event["type"] in EXPORTED]
    for event in events:
        event.pop("categories", None)
    with open(made["jsonl"][0], "wb") as out:
        out.writelines(msgspec.json.encode(event) + b"\n" for event in events)
    columns = {column: [event.get(name) for event in events] for name, column in EXPORT_COLUMNS.items()}
    with open(made["csv"][0], "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(zip(*([cell.removesuffix("Z") if name == "occurred_at" else cell for cell in values] for name, values in zip(EXPORT_COLUMNS, columns.values()))))
    columns["at"] = [datetime.fromisoformat(at).replace(tzinfo=None) for at in columns["at"]]
    pyarrow.parquet.write_table(pyarrow.table(columns), made["parquet"][0])
    return made


def reading_rates(exports: dict[str, tuple[Path, ColumnMap]]) -> list[str]:
    """Events/s of CPU time reading and decoding each export (``read_history`` and every customer's
    events, as the backtest does before its replay); fails loudly if they hold different events."""
    now, rates, counts = time.time(), [], set()
    for path, columns in exports.values():
        gc.disable()
        started = cpu_seconds()
        history = read_history([path], columns, now=now)
        events = sum(len(customer.times) for customer in history.log.customers())
        rates.append(f"{events / (cpu_seconds() - started):,.0f}")
        gc.enable()
        counts.add((events, len(history.rejections())))
    if len(counts) != 1:
        raise SystemExit(f"the exports read differently (events, rejected): {counts}")
    return rates


def workload(name: str, path: Path, policy: Policy, workers: int, repeat: int) -> list[str]:
    """The workload's row of the table (and a check that SQL and the backtest agree)."""
    now = time.time()
    report, wall, cpu = timed(lambda: backtest_file(path, policy, now=now), repeat)
    assert isinstance(report, Report)
    shared, shared_wall, shared_cpu = timed(lambda: backtest_in_workers(path, policy, workers, now=now), repeat)
    assert isinstance(shared, Report)
    sql, sql_wall, sql_cpu = timed(lambda: stage_entries(path, policy, threads=1), repeat)
    _, sql_wall_2, _ = timed(lambda: stage_entries(path, policy, threads=2), repeat)
    triggers = dict(report.triggers)
    if sql != triggers or shared.as_dict() != report.as_dict():
        raise SystemExit(f"{name}: the counts disagree: backtest {triggers}, {workers} workers {dict(shared.triggers)}, DuckDB {sql}")
    filing, decoding = input_seconds(path)
    events = report.events
    print(
        f"{name}: {events:,} events, {report.customers:,} customers; of the backtest's {wall:.2f} s, reading and "
        f"filing lines {filing:.2f} s, decoding them {decoding:.2f} s; stage entries {triggers} (DuckDB: the same)"
    )
    return [
        name,
        f"{events / wall:,.0f}",
        f"{events / cpu:,.0f}",
        f"{events / shared_wall:,.0f} ({wall / shared_wall:.2f}x)",
        f"{shared_cpu:.2f} s / {cpu:.2f} s ({shared_cpu / cpu:.2f}x)",
        f"{sql_wall:.2f} s ({sql_cpu:.2f} s CPU)",
        f"{sql_wall_2:.2f} s",
        f"{cpu / sql_cpu:.1f}x",
        f"{report.as_dict()['state_bytes_per_customer']}",
    ]


def add_workloads(parser: argparse.ArgumentParser, sparse: int, dense: int) -> None:
    """The options choosing the workloads: the customers of each log (these by default), the policy."""
    parser.add_argument("--sparse", type=int, default=sparse, help="customers of the sparse shop (about 3.9 events each)")
    parser.add_argument("--dense", type=int, default=dense, help="customers of the dense generated shop (about 40 events each)")
    parser.add_argument("--policy", type=Path, default=default_policy_path())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_workloads(parser, sparse=240_000, dense=30_000)
    parser.add_argument("--workers", type=int, default=2, help="processes of the shared backtest")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the median is printed")
    args = parser.parse_args()

    policy = load_policy(args.policy)
    print(f"policy: {args.policy}")
    header = [
        "workload", "events/s (1 process)", "events/s (CPU time)", f"events/s ({args.workers} workers)",
        f"CPU {args.workers} workers / 1", "DuckDB 1 thread", "DuckDB 2 threads", "backtest CPU / DuckDB", "state bytes/customer",
    ]  # fmt: skip
    rows = [workload(name, event_log(name, customers), policy, args.workers, args.repeat) for name, customers in (("sparse", args.sparse), ("dense", args.dense))]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, *rows]:
        print(" | ".join(cell.rjust(width) for cell, width in zip(row, widths)))
    formats = ["JSON lines", "Parquet", "CSV"]
    rates = reading_rates(shop_exports(event_log("sparse", args.sparse)))
    widths = [max(len(a), len(b)) for a, b in zip(formats, rates)]
    print("reading the sparse shop's export, events/s of CPU time (read, file, decode; no replay):")
    for row in (formats, rates):
        print(" | ".join(cell.rjust(width) for cell, width in zip(row, widths)))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"peak memory of this process (RSS): {peak_mib:,.0f} MiB; targets: >= 250,000 events/s per core, <= 300 bytes per customer")
    print("load average (1, 5, 15 min): " + ", ".join(f"{load:.1f}" for load in os.getloadavg()))


if __name__ == "__main__":
    main()
