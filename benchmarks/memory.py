"""Bytes per customer of the activity table in each store, memory and RocksDB, side by side.

For each store a fresh child process builds the worker's table (``topology.build_topology``,
the Faust table and store a worker runs) and loads it with ``--customers`` customers through
``Table.apply_changelog_batch``, the path a worker takes when it recovers its partitions from
the changelog after a restart.  The table is filled directly, not through Kafka: 1,000,000
customers through a worker would take about twenty minutes on a 2-core machine (1,150-1,600
events/s end to end, docs/scaling.md), this takes seconds, and the store holds the same keys
and values either way.  (The memory store also keeps each key's partition when it recovers.)

The states are realistic: the final ``CustomerActivity`` of ``--pool`` customers after a
generated year of shop traffic under ``policy.full.yaml`` (purchases, categories, cadence
gaps, profiles, campaign sends and touches), assigned in turn to the customers, each with its
own first-seen time and event-id hashes so that no two values are the same bytes.

Printed per store: the state's encoded size, the resident memory (RSS, Linux /proc) the loaded
table adds to the process, and for RocksDB its files on disk after the store is closed (what a
worker's volume holds) and after a flush and full compaction (the steady state).  RocksDB's
RSS counts its memtables (up to 64 MiB x 3 per partition in Faust's defaults), which hold the
latest writes until they are flushed to disk; its block cache fills only as states are read.

    python benchmarks/memory.py [--customers 1000000] [--pool 3000] [--partitions 8]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from multiprocessing import get_context
from pathlib import Path
from zlib import crc32

import faust
import msgspec
from faust.types import Message

from streams.devtools.testing import run_engine
from streams.devtools.traffic import generate_history
from streams.model.activity import CustomerActivity
from streams.policy.loading import load_policy
from streams.runtime.settings import Settings
from streams.runtime.topology import build_topology

FULL_POLICY = Path(__file__).parents[1] / "streams/resources/policy.full.yaml"
HISTORY_START = datetime(2024, 1, 1, tzinfo=timezone.utc)
HISTORY_DAYS = 365
CHUNK = 10_000  # changelog records per apply_changelog_batch, as a recovery batch
MIB = 1024 * 1024


def realistic_states(pool: int) -> list[bytes]:
    """The encoded final states of ``pool`` generated customers after a year under the full policy."""
    events = generate_history(pool, HISTORY_DAYS, seed=7, start=HISTORY_START)
    run = run_engine(load_policy(FULL_POLICY), events, until=HISTORY_START + timedelta(days=HISTORY_DAYS))
    return [state.encode() for state in run.states.values()]


def customer_state(number: int, pool: list[CustomerActivity]) -> bytes:
    """Customer ``number``'s state: a pool state with this customer's own first-seen time and event ids."""
    template = pool[number % len(pool)]
    recent = [crc32(f"cust-{number:07d}:{index}".encode()) for index in range(len(template.recent))]
    return msgspec.structs.replace(template, first_seen=template.first_seen - number % 3600, recent=recent).encode()


def rss_bytes() -> int:
    """This process's resident memory (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def disk_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def changelog_batch(app: faust.App, topic: str, partitions: int, numbers: range, pool: list[CustomerActivity]) -> list:
    """Changelog records of the customers ``numbers``, as the table's recovery reads them."""
    batch = []
    for number in numbers:
        key, value, partition = f"cust-{number:07d}".encode(), customer_state(number, pool), number % partitions
        message = Message(topic, partition, number // partitions, 0.0, 0, None, key, value, None)
        batch.append(faust.Event(app, key, value, None, message))
    return batch


def measure(store: str, customers: int, encoded_pool: list[bytes], partitions: int, data_dir: str) -> dict[str, float]:
    """In a fresh process: load ``customers`` into a ``store`` table; what it costs per customer."""
    pool = [CustomerActivity.decode(raw) for raw in encoded_pool]
    settings = Settings(store=store, data_dir=Path(data_dir), partitions=partitions)  # type: ignore[arg-type]
    table = build_topology(settings).activity
    topic = table.changelog_topic.get_topic_name()
    table.data  # the store is opened on first use: not part of the figure
    gc.collect()
    before, started, value_bytes = rss_bytes(), time.perf_counter(), 0
    for first in range(0, customers, CHUNK):
        batch = changelog_batch(table.app, topic, partitions, range(first, min(first + CHUNK, customers)), pool)
        value_bytes += sum(len(event.value) for event in batch)
        table.apply_changelog_batch(batch)
    del batch
    gc.collect()
    figures = {"seconds": time.perf_counter() - started, "value": value_bytes, "rss": rss_bytes() - before}
    if store == "rocksdb":
        figures.update(rocksdb_disk(table, partitions))
    return figures


def rocksdb_disk(table: faust.Table, partitions: int) -> dict[str, float]:
    """Bytes of the table's RocksDB files once the store is closed, then after a flush and compaction."""
    store = table.data
    table.app.loop.run_until_complete(store.stop())  # drops the databases: memtables stay in the write-ahead logs
    gc.collect()
    closed = disk_bytes(store.path)
    for partition in range(partitions):
        db = store.rocksdb_options.open(store.partition_path(partition))
        db.flush()
        db.compact_range(None, None)
        db.close()
    return {"disk_closed": closed, "disk_compacted": disk_bytes(store.path)}


def run_in_child(store: str, customers: int, pool: list[bytes], partitions: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"winback-bench-memory-{store}-") as data_dir:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as child:
            return child.submit(measure, store, customers, pool, partitions, data_dir).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--pool", type=int, default=3000, help="generated customers whose final states are reused")
    parser.add_argument("--partitions", type=int, default=8)
    args = parser.parse_args()

    pool = realistic_states(args.pool)
    mean_state = sum(map(len, pool)) / len(pool)
    print(f"states: {len(pool):,} generated customers after {HISTORY_DAYS} days under {FULL_POLICY.name}, "
          f"{mean_state:.0f} bytes encoded on average; {args.customers:,} customers in {args.partitions} partitions")
    memory = run_in_child("memory", args.customers, pool, args.partitions)
    rocksdb = run_in_child("rocksdb", args.customers, pool, args.partitions)
    per = args.customers
    print(f"{'bytes per customer':<44}{'memory':>12}{'rocksdb':>12}")
    print(f"{'  encoded state (msgpack value)':<44}{memory['value'] / per:>12.0f}{rocksdb['value'] / per:>12.0f}")
    print(f"{'  resident memory (RSS) added':<44}{memory['rss'] / per:>12.0f}{rocksdb['rss'] / per:>12.0f}")
    print(f"{'  on disk, store closed':<44}{'-':>12}{rocksdb['disk_closed'] / per:>12.0f}")
    print(f"{'  on disk, flushed and compacted':<44}{'-':>12}{rocksdb['disk_compacted'] / per:>12.0f}")
    print(f"RSS added: memory {memory['rss'] / MIB:,.0f} MiB, rocksdb {rocksdb['rss'] / MIB:,.0f} MiB "
          f"(rocksdb / memory: {rocksdb['rss'] / memory['rss']:.2f}); loading took {memory['seconds']:.1f} s "
          f"and {rocksdb['seconds']:.1f} s")


if __name__ == "__main__":
    main()
