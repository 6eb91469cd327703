"""Two workers under continuous load; one stops and the survivor takes its partitions, then it
starts again and takes some back.  Both rebalances move partitions with processed but
uncommitted input, yet every expected record is published (copies identical), the activity
table is exactly the pure engine's, and the two workers' customer gauges add up to the table.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from streams.runtime.settings import Settings
from tests.support.phases import PhasedRun, wait_for_table
from tests.support.workload import Workload

pytestmark = pytest.mark.reliability


async def test_stop_and_restart_one_of_two_workers_loses_nothing(
    app_settings: Settings, worker_factory, workload: Workload, report
):
    run = PhasedRun(app_settings, workload, worker_factory)
    first = await run.load_history("first")
    # Both phase-two workers start together: due transitions fire as soon as one is ready, and a
    # worker handling them in batches can be done with them before a second one started after it.
    second, _ = await asyncio.gather(
        asyncio.to_thread(worker_factory, "second", **run.later()), run.restart_later(first)
    )
    half = len(workload.arrivals) // 2
    arrivals = asyncio.create_task(run.stream_arrivals(seconds=12, part=slice(None, half)))

    await run.wait_for_progress(share=1 / 4)
    stopped = time.monotonic()
    await asyncio.to_thread(second.stop)
    published_alone = await run.wait_for_progress(share=1 / 2)  # the survivor carries on with every partition
    alone = time.monotonic() - stopped
    assert published_alone < len(run.expected), "the restart must land while work remains"
    await asyncio.to_thread(second.start)
    rejoined = time.monotonic() - stopped
    await arrivals
    await run.stream_arrivals(seconds=6, part=slice(half, None))  # load the rejoined worker's partitions too

    records = await run.wait_for_everything()
    recovered = time.monotonic() - stopped
    figures = run.check_records(records)
    await wait_for_table(app_settings, workload.final)
    assert first.alive(), first.tail()
    applied_by_rejoined = second.metric("winback_events_applied_total")  # counted since its restart
    assert applied_by_rejoined > 0, "the restarted worker got no partitions back"
    # Each worker counts the customers of its own active partitions, recounted on every rebalance.
    per_worker = [worker.metric("winback_customers") for worker in (first, second)]
    assert sum(per_worker) == len(workload.final), f"customers gauges {per_worker}, table {len(workload.final)}"
    report(
        purchases=len(workload.history) + len(workload.arrivals), expected_ids=len(run.expected), **figures,
        stop_to_restart_s=round(alone, 1), stop_to_rejoined_s=round(rejoined, 1),
        stop_to_all_published_s=round(recovered, 1), applied_by_rejoined=int(applied_by_rejoined),
        customers_per_worker=[int(count) for count in per_worker],
    )
