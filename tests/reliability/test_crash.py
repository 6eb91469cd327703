"""kill -9 a worker while it applies a stream of events and fires due transitions, start it
again: every expected record is published, copies are identical (same id, same bytes) and the
activity table is exactly the pure engine's.

SIGKILL runs no shutdown code: nothing is flushed or committed, the group notices only when the
session times out, and whatever the worker had processed since its last offset commit is
processed again after the restart.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from streams.runtime.settings import Settings
from tests.support.phases import PhasedRun, wait_for_table
from tests.support.workload import Workload

# kill -9 with each table store: RocksDB (the image's default) keeps local files across the crash.
pytestmark = [pytest.mark.reliability, pytest.mark.parametrize("store", ["memory", "rocksdb"])]


async def test_kill_9_mid_stream_loses_nothing(app_settings: Settings, worker_factory, workload: Workload, report):
    run = PhasedRun(app_settings, workload, worker_factory)
    worker = await run.load_history()
    await run.restart_later(worker)
    arrivals = asyncio.create_task(run.stream_arrivals(seconds=15))
    published_at_kill = await run.wait_for_progress(share=1 / 3)
    streamed_at_kill = run.streamed
    killed = time.monotonic()
    worker.kill()
    assert published_at_kill < len(run.expected) and streamed_at_kill < len(workload.arrivals), "kill landed too late"

    await asyncio.to_thread(worker.start)
    ready = time.monotonic() - killed
    await arrivals
    records = await run.wait_for_everything()
    recovered = time.monotonic() - killed
    figures = run.check_records(records)
    await wait_for_table(app_settings, workload.final)
    assert worker.alive(), worker.tail()
    report(
        purchases=len(workload.history) + len(workload.arrivals), expected_ids=len(run.expected),
        **figures, published_at_kill=published_at_kill, streamed_at_kill=streamed_at_kill,
        kill_to_ready_s=round(ready, 1), kill_to_all_published_s=round(recovered, 1),
    )

