"""Backfill throughput: computing states from a history, and writing them to the changelog.

Prints events/s of the compute side (read, decode, group, the engine's replay of each customer,
the stage at --as-of) on a generated shop log, and a backtest's on the same log for scale, and states/s of the write side (``write_states``:
the group check, the read of the changelog for customers a worker keeps, the produce with
acknowledgement), side by side with a bare aiokafka produce of the same records (same keys,
values and partitions) to another topic of the same broker, as a ratio.  Target: 10 M events
in a few minutes.  The broker is a throw-away local one (``scratch_broker``).

    python benchmarks/backfill.py [--customers 30000] [--days 365]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from aiokafka import AIOKafkaProducer

from backtest import event_log
from scratch_broker import scratch_broker
from streams.admin.backfill import refuse_if_running, write_states
from streams.backtest.backfill import compute_backfill
from streams.backtest.history import read_history
from streams.backtest.run import backtest_file
from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.partitioning import partition_of


async def bare_produce(settings, records: list[tuple[bytes, bytes]], topic: str) -> float:
    """Seconds for a bare aiokafka producer (the backfill's settings) to have every record acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=20, max_batch_size=262144)
    await producer.start()
    try:
        started = time.perf_counter()
        pending = []
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key, partition=partition_of(key, settings.partitions)))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return time.perf_counter() - started
    finally:
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=30_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()

    path = event_log(args.customers, args.days, gzipped=False)
    policy = load_policy(default_policy_path())
    started = time.perf_counter()
    now = time.time()
    backfill = compute_backfill(read_history([path], now=now), policy, now, now=now)
    computed = time.perf_counter() - started
    events = backfill.events + backfill.after_as_of
    print(f"history: {events:,} events of {len(backfill.states):,} customers ({path.name})")
    print(f"compute: {computed:.2f} s = {events / computed:,.0f} events/s; stages at as_of {dict(backfill.stages)}")
    print(f"  peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    print(f"  10 M events at this rate: {10_000_000 / (events / computed) / 60:.1f} min")
    started = time.perf_counter()
    backtest_file(path, policy)
    backtested = time.perf_counter() - started
    print(f"  a backtest of the same log on this machine now: {events / backtested:,.0f} events/s (compute / backtest: {backtested / computed:.2f}x)")

    with scratch_broker("backfill", args.partitions, heap="512m") as (settings, _):
        started = time.perf_counter()
        asyncio.run(refuse_if_running(settings))  # a new broker makes its group coordinator on the first ask
        first_check = time.perf_counter() - started
        started = time.perf_counter()
        written = asyncio.run(write_states(settings, backfill.states))
        write_seconds = time.perf_counter() - started
        records = [(customer_id.encode(), state.encode()) for customer_id, state in backfill.states.items()]
        bare_seconds = asyncio.run(bare_produce(settings, records, settings.topic_events))
    states = written.written
    print(f"first group check on the new broker (coordinator made): {first_check:.2f} s, not counted below")
    print(f"write: {write_seconds:.2f} s = {states / write_seconds:,.0f} states/s ({states:,} states; group check, changelog read, produce)")
    print(f"bare aiokafka produce of the same {len(records):,} records: {bare_seconds:.2f} s = {len(records) / bare_seconds:,.0f} records/s")
    print(f"  write / bare produce: {bare_seconds / write_seconds:.2f}x the bare rate")


if __name__ == "__main__":
    main()
