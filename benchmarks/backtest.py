"""Backtest throughput and state size on a generated shop log of >= 1M events.

Prints events/second of ``winback backtest`` (read, decode, group, sort, replay, report) on one
core, how much of that time reading, filing and decoding the lines take, the peak resident
memory, and the serialized bytes per customer of the final states.  Targets: >= 250,000
events/s and <= 300 bytes per customer.  The log is generated once (seeded) and reused from the
cache dir.  Wall time on a shared machine is noisy: ``--repeat`` runs the backtest several
times and prints the median, and CPU time is printed too.

    python benchmarks/backtest.py [--customers 30000] [--days 365] [--gzip] [--repeat 1]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import resource
import statistics
import tempfile
import time
from pathlib import Path

from streams.devtools import traffic
from streams.backtest.run import backtest_file
from streams.backtest.event_log import read_text
from streams.backtest.event_log import EventLog
from streams.policy.loading import default_policy_path, load_policy
from streams.devtools.traffic import generate_history, write_jsonl

CACHE = Path(tempfile.gettempdir()) / "winback-bench"


def event_log(customers: int, days: int, gzipped: bool) -> Path:
    """The seeded log for these parameters and this version of the generator, made on first use."""
    generator = hashlib.sha1(Path(traffic.__file__).read_bytes()).hexdigest()[:8]
    path = CACHE / f"history-{customers}c-{days}d-{generator}.jsonl{'.gz' if gzipped else ''}"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        count = write_jsonl(generate_history(customers, days, seed=7), path)
        print(f"generated {count:,} events in {time.perf_counter() - started:.1f} s -> {path}")
    return path


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=30_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--gzip", action="store_true", help="read a gzipped log")
    parser.add_argument("--policy", type=Path, default=default_policy_path())
    parser.add_argument("--repeat", type=int, default=1, help="backtest runs; the median is printed")
    args = parser.parse_args()

    path = event_log(args.customers, args.days, args.gzip)
    policy = load_policy(args.policy)
    walls, cpus = [], []
    for _ in range(args.repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        report = backtest_file(path, policy)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    elapsed, cpu = statistics.median(walls), statistics.median(cpus)
    figures = report.as_dict()
    print(f"policy: {args.policy}")
    print(f"events: {report.events:,} from {report.customers:,} customers ({path.name})")
    runs = f" (median of {args.repeat}: {', '.join(f'{wall:.2f}' for wall in walls)})" if args.repeat > 1 else ""
    print(f"backtest: {elapsed:.2f} s = {report.events / elapsed:,.0f} events/s (target >= 250,000){runs}")
    print(f"  CPU time: {cpu:.2f} s = {report.events / cpu:,.0f} events/s")
    print(f"  peak memory (RSS): {peak_mib:,.0f} MiB")
    filing, decoding = input_seconds(path)
    print(f"  of which reading and filing lines per customer (streams.backtest.event_log): {filing:.2f} s")
    print(f"  of which decoding each customer's lines (streams.model.codec.decode_batch_at): {decoding:.2f} s")
    print(f"state: {figures['state_bytes_per_customer']} bytes per customer (target <= 300)")
    print(f"triggers: {figures['triggers']}  commands: {figures['commands']}")


if __name__ == "__main__":
    main()
