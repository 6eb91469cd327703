"""The broker stops for several seconds in the middle of the work and starts again on the same
data directory: the worker reconnects by itself (same process, no restart) and finishes.

The module runs its own broker, so stopping it disturbs no other test; the shared fixtures
follow this module's ``kafka_bootstrap``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from streams.kafka_local import LocalKafka
from streams.settings import Settings
from tests.reliability.phases import PhasedRun, wait_for_table
from tests.reliability.workload import Workload

pytestmark = pytest.mark.reliability

OUTAGE_SECONDS = 6


@pytest.fixture(scope="module")
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    broker = LocalKafka(tmp_path_factory.mktemp("outage-kafka"))
    broker.start(timeout=240)
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def kafka_bootstrap(own_kafka: LocalKafka) -> str:
    return own_kafka.bootstrap


async def test_worker_rides_out_a_broker_outage(
    own_kafka: LocalKafka, app_settings: Settings, worker_factory, workload: Workload, report
):
    run = PhasedRun(app_settings, workload, worker_factory)
    worker = await run.load_history()
    await run.restart_later(worker)
    process = worker.process
    arrivals = asyncio.create_task(run.stream_arrivals(seconds=20))

    published_at_stop = await run.wait_for_progress(share=1 / 3)
    down = time.monotonic()
    await asyncio.to_thread(own_kafka.stop)
    await asyncio.sleep(OUTAGE_SECONDS)
    await asyncio.to_thread(own_kafka.start)
    up = time.monotonic()
    assert published_at_stop < len(run.expected) and not arrivals.done(), "the outage must land while work remains"

    await arrivals
    records = await run.wait_for_everything()
    recovered = time.monotonic() - up
    figures = run.check_records(records)
    await wait_for_table(app_settings, workload.final)
    assert worker.process is process and worker.alive(), worker.tail()
    report(
        purchases=len(workload.history) + len(workload.arrivals), expected_ids=len(run.expected), **figures,
        published_at_stop=published_at_stop, broker_down_s=round(up - down, 1),
        broker_up_to_all_published_s=round(recovered, 1),
    )
