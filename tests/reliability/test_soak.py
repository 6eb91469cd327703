"""A worker under a steady rate of traffic for a minute and a half: it keeps up (everything
produced is consumed and applied or dead-lettered) and its memory stays flat once the table
holds every customer.

The traffic is production-like: the wall clock, a fixed population of customers whose
purchases and logins happened up to 60 days ago, so customers keep lapsing (triggers and
commands fire) and coming back (new episodes), and a malformed record now and then.  With a
fixed population the table stops growing after the warm-up, so any growth after it is a leak.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import datetime, timedelta, timezone

import msgspec
import pytest
from aiokafka import AIOKafkaProducer

from streams.model.events import Login, Purchase
from streams.runtime.settings import Settings
from streams.devtools.traffic import malformed_records
from streams.devtools.spawn import WorkerProcess

pytestmark = [pytest.mark.reliability, pytest.mark.soak]

SOAK_SECONDS = 90
RATE = 250  # records per second
CUSTOMERS = 1_500  # all seen within the warm-up at this rate
WARM_UP = 20  # seconds before the first memory sample that counts
MALFORMED_EVERY = 200
# Allowed RSS growth from the warm-up to the end.  A worker's RSS moves by a few MiB with the
# allocator's arenas and Kafka's fetch buffers; a leak of even 1 KiB per record would add 22 MiB
# over this soak's 22,500 records (90 s at 250 a second).
MAX_GROWTH = 12 * 2**20


async def test_steady_load_keeps_memory_flat(app_settings: Settings, worker_factory, report):
    worker = worker_factory()  # the wall clock, as in production
    process = worker.process
    began = time.monotonic()
    traffic = asyncio.create_task(steady_traffic(app_settings, random.Random(5)))
    samples: list[tuple[float, int]] = []
    while not traffic.done():
        samples.append((time.monotonic() - began, worker.rss_bytes()))
        await asyncio.sleep(5)
    produced, malformed = await traffic
    await caught_up(worker, produced, timeout=60)  # nothing lost, nothing stuck

    counted = [rss for at, rss in samples if at >= WARM_UP]
    start, end = statistics.median(counted[:3]), statistics.median(counted[-3:])
    assert worker.process is process and worker.alive(), worker.tail()
    assert worker.metric("winback_dead_letters_total") == malformed
    assert worker.metric("winback_triggers_total") > 0 and worker.metric("winback_commands_total") > 0
    report(
        seconds=SOAK_SECONDS, records=produced, rate_per_s=RATE, dead_letters=malformed,
        triggers=int(worker.metric("winback_triggers_total")), commands=int(worker.metric("winback_commands_total")),
        rss_first_mib=round(samples[0][1] / 2**20, 1), rss_start_mib=round(start / 2**20, 1),
        rss_end_mib=round(end / 2**20, 1),
    )
    assert end - start < MAX_GROWTH, f"RSS grew from {start / 2**20:.1f} MiB to {end / 2**20:.1f} MiB"


async def steady_traffic(settings: Settings, rng: random.Random) -> tuple[int, int]:
    """RATE records a second for SOAK_SECONDS; returns (records produced, malformed among them)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.broker, acks="all", linger_ms=5)
    await producer.start()
    total = RATE * SOAK_SECONDS
    began = time.monotonic()
    deliveries = []
    try:
        for number in range(total):
            await asyncio.sleep(max(0.0, began + number / RATE - time.monotonic()))
            topic, value = _record(settings, rng, number)
            deliveries.append(await producer.send(topic, value))
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    return total, total // MALFORMED_EVERY


def _record(settings: Settings, rng: random.Random, number: int) -> tuple[str, bytes]:
    if number % MALFORMED_EVERY == MALFORMED_EVERY - 1:
        return settings.topic_purchases, malformed_records(rng)
    customer = f"soak-{rng.randrange(CUSTOMERS)}"
    when = datetime.now(timezone.utc) - timedelta(days=rng.uniform(0, 60))
    if rng.random() < 0.4:
        purchase = Purchase(event_id=f"p{number}", customer_id=customer, occurred_at=when, order_id=f"o{number}",
                            amount=round(rng.uniform(5, 200), 2), currency="EUR")
        return settings.topic_purchases, msgspec.json.encode(purchase)
    return settings.topic_logins, msgspec.json.encode(Login(event_id=f"l{number}", customer_id=customer, occurred_at=when))


async def caught_up(worker: WorkerProcess, produced: int, timeout: float) -> None:
    """Wait until every record produced is applied to the table or dead-lettered (the worker's counters)."""
    deadline = time.monotonic() + timeout
    while (done := worker.metric("winback_events_applied_total") + worker.metric("winback_dead_letters_total")) < produced:
        assert time.monotonic() < deadline, f"{done:.0f} of {produced} records applied or dead-lettered after {timeout}s"
        await asyncio.sleep(0.5)
