"""The scheduler tick as the table grows: 10k against 1M customers, the same number due.

``Scheduler.tick`` with the due index of 10k and of 1M customers, the same number due in both,
publishing to a real local broker through an aiokafka producer (the tick hands each record to
the producer as Faust's ``topic.send`` does; acknowledgements are awaited after the timing).
Median of rounds run alternately.  Target: 1M / 10k <= 1.5.

    python benchmarks/scheduler_tick.py [--due 1000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import replace

from aiokafka import AIOKafkaProducer

from streams.core.engine import Engine
from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.clock import FixedClock
from streams.runtime.scheduler import Scheduler
from streams.runtime.settings import Settings
from streams.runtime.topology import build_topology

from scratch_broker import scratch_broker

DAY = 86400.0


class BrokerSink:
    """The due topic as the scheduler sees it (``send`` hands the record over and returns its
    delivery future, like Faust's ``topic.send``), backed by an aiokafka producer."""

    def __init__(self, producer: AIOKafkaProducer, topic: str):
        self.producer, self.topic, self.pending = producer, topic, []

    async def send(self, key: bytes, value: bytes, partition: int) -> asyncio.Future:
        delivery = await self.producer.send(self.topic, value, key=key, partition=partition)
        self.pending.append(delivery)
        return delivery

    async def delivered(self) -> None:
        await asyncio.gather(*self.pending)
        self.pending.clear()


def filled_scheduler(settings: Settings, sink: BrokerSink, customers: int, due: int, now: float) -> Scheduler:
    """A scheduler whose index holds ``customers``, of which ``due`` are due at ``now``."""
    topology = replace(build_topology(settings), due=sink)
    scheduler = Scheduler(topology, Engine(load_policy(default_policy_path())), FixedClock(now), max_per_tick=10_000)
    per_partition: dict[int, list[tuple[str, float]]] = {p: [] for p in range(settings.partitions)}
    for number in range(customers):
        due_at = now - 60 if number < due else now + DAY * (1 + number % 365)
        per_partition[number % settings.partitions].append((f"cust-{number:07d}", due_at))
    for partition, entries in per_partition.items():
        scheduler.index.load(partition, entries)
    return scheduler


async def tick_seconds(settings: Settings, sizes: tuple[int, ...], due: int, rounds: int) -> dict[int, float]:
    """Median seconds of one tick per index size; the due customers are re-armed between rounds."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, linger_ms=20, max_batch_size=65536, acks="all"
    )
    await producer.start()
    try:
        now = time.time()
        sink = BrokerSink(producer, settings.topic_due)
        schedulers = {size: filled_scheduler(settings, sink, size, due, now) for size in sizes}
        timings: dict[int, list[float]] = {size: [] for size in sizes}
        for _ in range(rounds):
            for size, scheduler in schedulers.items():
                started = time.perf_counter()
                await scheduler.tick()
                timings[size].append(time.perf_counter() - started)
                await sink.delivered()
                for number in range(due):
                    scheduler.index.set(number % settings.partitions, f"cust-{number:07d}", now - 60)
        return {size: statistics.median(values) for size, values in timings.items()}
    finally:
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--due", type=int, default=1000, help="customers due in each scheduler tick")
    parser.add_argument("--rounds", type=int, default=15, help="scheduler ticks timed per index size")
    args = parser.parse_args()

    with scratch_broker("tick", args.partitions, heap="512m") as (settings, _):
        small, large = 10_000, 1_000_000
        ticks = asyncio.run(tick_seconds(settings, (small, large), args.due, args.rounds))
        print(f"scheduler tick, {args.due:,} due, published to the broker (median of {args.rounds}): "
              f"{ticks[small] * 1000:.1f} ms with {small:,} customers, {ticks[large] * 1000:.1f} ms with "
              f"{large:,}")
        print(f"tick 1M / 10k: {ticks[large] / ticks[small]:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
