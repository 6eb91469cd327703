"""The broker stops for several seconds in the middle of the work and starts again on the same
data directory: the worker reconnects by itself (same process, no restart) and finishes.

The module runs its own broker, so stopping it disturbs no other test: the shared fixtures
(``app_settings``, ``worker_factory``) follow this module's ``kafka_bootstrap``.
"""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streams.devtools.kafka_local import LocalKafka
from streams.runtime.settings import Settings
from streams.admin.topics import changelog_topic
from tests.support.expected import expected_states
from tests.support.kafka_io import producing, read_until
from tests.support.phases import PhasedRun, wait_for_table
from tests.support.workload import START, Workload, burst

pytestmark = pytest.mark.reliability

OUTAGE_SECONDS = 3  # the sleep between stop and start; stopping and starting add more


@pytest.fixture(scope="module")
def kafka_bootstrap(own_kafka: LocalKafka) -> str:
    """This module's topics and workers use its own broker (``own_kafka``), the one it stops."""
    return own_kafka.bootstrap


async def test_worker_rides_out_a_broker_outage(
    own_kafka: LocalKafka, app_settings: Settings, worker_factory, workload: Workload, report
):
    run = PhasedRun(app_settings, workload, worker_factory)
    worker = await run.load_history()
    await run.restart_later(worker)
    process = worker.process
    arrivals = asyncio.create_task(run.stream_arrivals(seconds=15))

    published_at_stop = await run.wait_for_progress(share=1 / 3)
    down = time.monotonic()
    await asyncio.to_thread(own_kafka.stop)
    # Counted once the broker is down (nothing is acknowledged until it is back), not by whether
    # the producer is still at work once it is up: the producer flushes as soon as the broker
    # takes records, which may be before the broker's start returns.
    streamed_at_stop = run.streamed
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(own_kafka.start)
    up = time.monotonic()
    assert published_at_stop < len(run.expected) and streamed_at_stop < len(workload.arrivals), (
        "the outage must land while work remains"
    )

    await arrivals
    records = await run.wait_for_everything()
    recovered = time.monotonic() - up
    figures = run.check_records(records)
    await wait_for_table(app_settings, workload.final)
    assert worker.process is process and worker.alive(), worker.tail()
    report(
        purchases=len(workload.history) + len(workload.arrivals), expected_ids=len(run.expected), **figures,
        published_at_stop=published_at_stop, streamed_at_stop=streamed_at_stop, broker_down_s=round(up - down, 1),
        broker_up_to_all_published_s=round(recovered, 1),
    )


async def test_kill_9_right_after_an_outage_loses_no_state_write(
    own_kafka: LocalKafka, app_settings: Settings, worker_factory, report
):
    """The known risk at its most likely: while the broker is away the worker keeps applying
    the events it had fetched, so changelog records pile up in Faust's producer buffer; when
    the broker is back, the first offset commit may go out before them (the commit's flush
    gives up after 0.1 s without progress).  Killing the worker right after that commit
    would lose those state writes while their events count as processed.
    """
    purchases = burst(customers=3000)
    worker = worker_factory(WINBACK_CLOCK=f"fixed:{START.isoformat()}")
    topic = app_settings.topic_purchases
    # The changelog is read from before the burst is produced, and the broker stops as soon as a
    # quarter is applied, while the burst may still be produced: however fast the worker, the
    # outage finds it at work (a reader started after the produce could find it done and
    # committed, and no commit would follow the outage).  The producer retries until the broker
    # is back.
    a_quarter_applied = asyncio.create_task(
        read_until(app_settings.broker, [changelog_topic(app_settings)], lambda got: len(got) >= len(purchases) // 4)
    )
    records = [(topic, p.customer_id.encode(), msgspec.json.encode(p)) for p in purchases]
    async with producing(app_settings.broker, records):
        await a_quarter_applied
        before = await committed(app_settings)
        await asyncio.to_thread(own_kafka.stop)
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(own_kafka.start)
        deadline = time.monotonic() + 60
        while (after := await committed(app_settings)) <= before:
            assert time.monotonic() < deadline, "no commit after the outage"
            await asyncio.sleep(0.05)
        worker.kill()

    await asyncio.to_thread(worker.start)
    await wait_for_table(app_settings, expected_states(purchases))
    report(purchases=len(purchases), committed_before_outage=before, committed_when_killed=after)


async def committed(settings: Settings) -> int:
    """The group's committed offsets on the internal events topic, summed over partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.broker)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.app_id)
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == settings.topic_events)
