"""Pipeline throughput against a bare aiokafka relay, and the scheduler tick as the table grows.

One run, one local broker, side by side (the machine is shared, so only ratios mean much):

1. **relay**: an aiokafka consumer reads the input topics from the beginning and a producer
   writes every record, as bytes, to one output topic; measured from the first record
   received to the acknowledgement of the last one sent.  Run before and after the pipeline;
   the baseline is the mean of the two.
2. **pipeline**: a real ``winback worker`` subprocess (the command production runs, with the
   settings below) reads the same records: ingest validates and repartitions them onto the
   internal events topic, the customers agent applies them, publishes what the engine
   decides and writes the table.  The clock starts at the create-time timestamp of the first
   record ingest forwarded (so the worker's start-up and group join are not counted) and stops
   when the worker's ``winback_events_applied_total`` reaches the number of records produced,
   polled from its ``/metrics`` every 50 ms.  Target: pipeline >= 0.5 x relay.
3. **Faust's floor**: a Faust app configured as the worker's (``topology.create_app``) with one
   agent that only counts the same records, in a child process; measured from the first record
   the agent sees to the last.  It does no work, so no Faust pipeline can go faster: its ratio
   to the relay is the ceiling any agent of this design can reach.
4. **scheduler tick**: ``Scheduler.tick`` with the due index of 10k and of 1M customers, the
   same number due in both, publishing to the real broker through an aiokafka producer (the
   tick hands each record to the producer as Faust's ``topic.send`` does; acknowledgements
   are awaited after the timing).  Median of rounds run alternately.  Target: 1M / 10k <= 1.5.

The worker's clock is frozen at the start of the generated history (``fixed:``).  The history
arrives all at once, so under the wall clock every applied event would leave its customer
overdue, and the scheduler would send a due tick for it at once: a tick per event, which live
traffic never causes.  With the frozen clock the scheduler has nothing due, while the engine
still fires every lapse inside the history by the events' own times.  The scheduler's cost is
measured on its own in 4.

    python benchmarks/pipeline.py [--customers 6000] [--days 365] [--store rocksdb]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from streams.runtime.clock import FixedClock
from streams.core.engine import Engine
from streams.policy.loading import default_policy_path, load_policy
from streams.devtools.publisher import publish
from streams.runtime.scheduler import Scheduler
from streams.runtime.settings import Settings
from streams.runtime.topology import build_topology, create_app
from streams.devtools.traffic import generate_history
from streams.devtools.spawn import WorkerProcess, free_port

from scratch_broker import scratch_broker

RELAY_TOPIC = "bench.relay"
POLL_SECONDS = 0.05
DAY = 86400.0
HISTORY_START = datetime(2024, 1, 1, tzinfo=timezone.utc)


async def relay(settings: Settings, expected: int, group: str) -> float:
    """Records/s of a bare consume -> produce relay of the input topics (bytes in, bytes out)."""
    consumer = AIOKafkaConsumer(
        *settings.input_topics.values(), bootstrap_servers=settings.bootstrap_servers, group_id=group,
        auto_offset_reset="earliest", enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, linger_ms=20, max_batch_size=65536, acks="all"
    )
    await consumer.start()
    await producer.start()
    try:
        relayed, pending, started = 0, [], None
        while relayed < expected:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                started = started or time.perf_counter()
                for record in records:
                    pending.append(await producer.send(RELAY_TOPIC, record.value, key=record.key))
                relayed += len(records)
        await asyncio.gather(*pending)
        return relayed / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def forwarded_span(settings: Settings) -> tuple[float, float]:
    """Create-times (epoch seconds) of the first and the last record ingest forwarded onto the
    internal events topic: when the pipeline's clock starts, and when ingest was done."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(settings.topic_events, p) for p in range(settings.partitions)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        firsts: list[int] = []
        lasts: list[int] = []
        for partition in partitions:
            for position, stamps in ((0, firsts), (ends[partition] - 1, lasts)):
                consumer.seek(partition, max(0, position))
                batch = await consumer.getmany(partition, timeout_ms=2000, max_records=1)
                stamps.extend(record.timestamp for records in batch.values() for record in records)
        return min(firsts) / 1000, max(lasts) / 1000
    finally:
        await consumer.stop()


async def create_relay_topic(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(RELAY_TOPIC, settings.partitions, settings.replication)])
    finally:
        await admin.close()


def pipeline(
    settings: Settings, expected: int, workdir: Path, store: str, clock: str, timeout: float
) -> tuple[float, float]:
    """Events/s of a real worker, first record forwarded -> last event applied, and of its
    ingest alone (first record forwarded -> last)."""
    env = {
        "WINBACK_BROKER": settings.broker,
        "WINBACK_APP_ID": settings.app_id,
        "WINBACK_PARTITIONS": str(settings.partitions),
        "WINBACK_TOPIC_EVENTS": settings.topic_events,
        "WINBACK_TOPIC_DUE": settings.topic_due,
        "WINBACK_STORE": store,
        "WINBACK_CLOCK": clock,
        "WINBACK_LOG_LEVEL": "info",
    }
    worker = WorkerProcess(env, workdir, "bench-worker")
    worker.start(ready_timeout=120)
    try:
        deadline = time.monotonic() + timeout
        while (done := worker.metric("winback_events_applied_total")) < expected:
            if time.monotonic() > deadline or not worker.alive():
                raise RuntimeError(f"{done:.0f} of {expected} events applied; worker log:\n{worker.tail()}")
            time.sleep(POLL_SECONDS)
        finished = time.time()
        first, last = asyncio.run(forwarded_span(settings))
        return expected / (finished - first), expected / max(last - first, 1e-3)
    finally:
        worker.stop()


def faust_floor(settings: Settings, expected: int, workdir: Path, timeout: float) -> float:
    """Records/s of a Faust agent that only counts the input records (in a child process)."""
    settings = settings.model_copy(
        update={"app_id": "bench-floor", "web_port": free_port(), "data_dir": workdir / "floor"}
    )
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: its own event loop and Faust app
    rates: multiprocessing.Queue = spawn.Queue()
    child = spawn.Process(target=_count_with_faust, args=(settings, expected, rates), daemon=True)
    child.start()
    try:
        return rates.get(timeout=timeout)
    finally:
        child.terminate()
        child.join(10)


def _count_with_faust(settings: Settings, expected: int, rates: multiprocessing.Queue) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    inputs = app.topic(*settings.input_topics.values(), value_type=bytes, key_serializer="raw", value_serializer="raw")

    @app.agent(inputs)
    async def count(stream: faust.StreamT) -> None:
        seen, started = 0, 0.0
        async for _ in stream.events():
            seen += 1
            if seen == 1:
                started = time.perf_counter()
            elif seen == expected:
                rates.put(expected / (time.perf_counter() - started))

    console = open(os.devnull, "w")  # no banner or spinner in the figures (open until the child ends)
    faust.Worker(app, loglevel="warning", quiet=True, stdout=console).execute_from_commandline()


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
    parser.add_argument("--customers", type=int, default=6000, help="customers in the generated history")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--store", choices=["memory", "rocksdb"], default="rocksdb", help="the worker's table store")
    parser.add_argument("--due", type=int, default=1000, help="customers due in each scheduler tick")
    parser.add_argument("--rounds", type=int, default=15, help="scheduler ticks timed per index size")
    args = parser.parse_args()

    with scratch_broker("pipeline", args.partitions, heap="1g") as (settings, workdir):
        asyncio.run(create_relay_topic(settings))
        events = generate_history(args.customers, args.days, seed=7, start=HISTORY_START)
        produced = asyncio.run(publish(settings, events))
        print(f"produced {produced:,} records ({args.customers:,} customers, {args.days} days) to "
              f"{len(settings.input_topics)} input topics; {args.partitions} partitions; store {args.store}")

        before = asyncio.run(relay(settings, produced, "bench-relay-1"))
        clock = f"fixed:{HISTORY_START.isoformat()}"
        worker, ingest = pipeline(settings, produced, workdir, args.store, clock, timeout=600)
        floor = faust_floor(settings, produced, workdir, timeout=600)
        after = asyncio.run(relay(settings, produced, "bench-relay-2"))
        baseline = (before + after) / 2
        print(f"relay (aiokafka consume -> produce): {before:,.0f} before, {after:,.0f} after the pipeline "
              f"records/s; baseline {baseline:,.0f}")
        print(f"pipeline (winback worker, end to end): {worker:,.0f} events/s; its ingest alone forwarded "
              f"{ingest:,.0f} events/s")
        print(f"pipeline / relay: {worker / baseline:.2f} (target >= 0.5)")
        print(f"Faust's floor (an agent that only counts the records): {floor:,.0f} records/s; "
              f"floor / relay: {floor / baseline:.2f}, the ceiling of any Faust agent")

        small, large = 10_000, 1_000_000
        ticks = asyncio.run(tick_seconds(settings, (small, large), args.due, args.rounds))
        print(f"scheduler tick, {args.due:,} due, published to the broker (median of {args.rounds}): "
              f"{ticks[small] * 1000:.1f} ms with {small:,} customers, {ticks[large] * 1000:.1f} ms with "
              f"{large:,}")
        print(f"tick 1M / 10k: {ticks[large] / ticks[small]:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
