"""The customers stage's table access and processing-time metric: Faust's way against the batch way.

In one process, side by side, on real Faust tables (RocksDB in a scratch directory, and memory),
no broker: CPU µs per customer (or per record) of

- reading a state: ``table.get`` with the record as Faust's current event (Faust's managed
  dict: contains, then get) against ``faust_patches.stored_value`` (one read of the partition's
  store);
- writing a batch's states into the store: ``table.data[key] = value`` under the current event,
  one at a time, against ``faust_patches.store_puts`` (one RocksDB write batch per partition);
- observing a batch's processing time for each of its records: ``Histogram.observe`` once per
  record against ``metrics.RepeatedHistogram.observe(seconds, records)`` once per batch.

Best of ``--rounds`` (CPU time), the two ways alternating.  The worker's own figures come from
benchmarks/worker_ab.py; this one says which part of a difference these pieces make.

    python benchmarks/customers_stage.py [--customers 6000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Callable

from faust.types.tuples import Message
from prometheus_client import CollectorRegistry, Histogram

from streams.devtools.table_access import faust_gets, faust_puts, record
from streams.runtime.faust_patches import store_puts, stored_value
from streams.runtime.observability.metrics import PROCESSING_BUCKETS, RepeatedHistogram
from streams.runtime.settings import Settings
from streams.runtime.topology import Topology, build_topology

PARTITIONS = 8
STATE = b"x" * 250  # about a customer's encoded state
BATCH_RECORDS = 10_000  # records a batch observes its time for (WINBACK_BATCH_RECORDS' default)


def records(customers: int) -> list[Message]:
    """One record per customer, on the customer's partition."""
    return [record(f"customer-{number:07d}".encode(), number % PARTITIONS, offset=number) for number in range(customers)]


def direct_reads(topology: Topology, batch: list[Message]) -> list[bytes | None]:
    """Each message's stored state read directly, kept as ``faust_gets`` keeps Faust's reads."""
    return [stored_value(topology.app, topology.activity, message) for message in batch]


def direct_writes(topology: Topology, batch: list[Message]) -> None:
    store_puts(topology.app, topology.activity, [(message, STATE) for message in batch])


def cpu(run: Callable[[], None]) -> float:
    """The CPU seconds ``run`` takes."""
    started = time.process_time()
    run()
    return time.process_time() - started


def compare(name: str, unit: int, before: Callable[[], None], after: Callable[[], None], rounds: int) -> None:
    """Print both ways' CPU µs per unit and their ratio (each way's best of ``rounds``, alternating)."""
    times = {"before": float("inf"), "after": float("inf")}
    for _ in range(rounds):
        times["before"] = min(times["before"], cpu(before))
        times["after"] = min(times["after"], cpu(after))
    per_unit = {way: seconds / unit * 1e6 for way, seconds in times.items()}
    print(f"| {name} | {per_unit['before']:.3g} | {per_unit['after']:.3g} | {per_unit['before'] / per_unit['after']:.1f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    batch = records(options.customers)
    print(f"{options.customers:,} customers on {PARTITIONS} partitions, best of {options.rounds} rounds (CPU)")
    print("| per customer or record | Faust's way, µs | batch way, µs | speed-up |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="winback-bench-customers-stage-") as scratch:
        for store in ("rocksdb", "memory"):
            settings = Settings(broker="127.0.0.1:1", app_id=f"bench-{store}", store=store, data_dir=Path(scratch) / store)
            topology = build_topology(settings)
            compare(f"{store}: write a state", len(batch),
                    lambda: faust_puts(topology, [(message, STATE) for message in batch]), lambda: direct_writes(topology, batch), options.rounds)
            compare(f"{store}: read a state", len(batch),
                    lambda: faust_gets(topology, batch), lambda: direct_reads(topology, batch), options.rounds)
    registry = CollectorRegistry()
    histogram = Histogram("bench_seconds", "A batch.", buckets=PROCESSING_BUCKETS, registry=registry)
    repeated = RepeatedHistogram("bench_seconds", "A batch.", PROCESSING_BUCKETS)

    def each_record() -> None:
        for _ in range(BATCH_RECORDS):
            histogram.observe(0.02)

    compare("observe a batch's time for a record", BATCH_RECORDS, each_record, lambda: repeated.observe(0.02, BATCH_RECORDS), options.rounds)


if __name__ == "__main__":
    main()
