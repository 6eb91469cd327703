"""Backtest throughput and state size on a generated shop log of >= 1M events.

Prints events/second of ``winback backtest`` (decode, group, sort, replay, report) on one core
and the serialized bytes per customer of the final states.  Targets: >= 250,000 events/s and
<= 300 bytes per customer.  The log is generated once (seeded) and reused from the cache dir.

    python benchmarks/backtest.py [--customers 30000] [--days 365] [--gzip]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from streams.backtest import backtest_file, read_lines
from streams.codec import decode_lines_at
from streams.policy import default_policy_path, load_policy
from streams.traffic import generate_history, write_jsonl

CACHE = Path(tempfile.gettempdir()) / "winback-bench"


def event_log(customers: int, days: int, gzipped: bool) -> Path:
    """The seeded log for these parameters, generated on first use."""
    path = CACHE / f"history-{customers}c-{days}d.jsonl{'.gz' if gzipped else ''}"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        count = write_jsonl(generate_history(customers, days, seed=7), path)
        print(f"generated {count:,} events in {time.perf_counter() - started:.1f} s -> {path}")
    return path


def decoding_seconds(path: Path) -> float:
    """Time to read and decode the log alone (as the backtest does), to show how its time divides."""
    started = time.perf_counter()
    for _ in decode_lines_at(read_lines(path)):
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=30_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--gzip", action="store_true", help="read a gzipped log")
    parser.add_argument("--policy", type=Path, default=default_policy_path())
    args = parser.parse_args()

    path = event_log(args.customers, args.days, args.gzip)
    policy = load_policy(args.policy)
    started = time.perf_counter()
    report = backtest_file(path, policy)
    elapsed = time.perf_counter() - started
    figures = report.as_dict()
    print(f"policy: {args.policy}")
    print(f"events: {report.events:,} from {report.customers:,} customers ({path.name})")
    print(f"backtest: {elapsed:.2f} s = {report.events / elapsed:,.0f} events/s (target >= 250,000)")
    print(f"  of which reading and decoding lines (streams.codec): {decoding_seconds(path):.2f} s")
    print(f"state: {figures['state_bytes_per_customer']} bytes per customer (target <= 300)")
    print(f"triggers: {figures['triggers']}  commands: {figures['commands']}")


if __name__ == "__main__":
    main()
