"""The demo's pieces, headless, against the real broker: a worker on the demo's settings (event
clock, policy.full.yaml), the demo's traffic and its watcher.  Every element the view shows
turns up, and the worker stops promptly and cleanly.

The traffic is the demo's, with fewer customers and so faster in event time (the view's ~6 days
per second would take a minute to reach the first sunset): the scripted cast guarantees every
element on its own.
The worker is stopped while the traffic still flows, as Ctrl-C does, so that it holds events
back for the event clock when it stops.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from streams.admin.topics import ensure_topics
from streams.devtools.demo import DemoConfig, demo_settings, observing, replaying
from streams.devtools.demo_watch import ELEMENTS, Observed
from streams.runtime.settings import Settings
from streams.devtools.spawn import worker_env

pytestmark = pytest.mark.integration

# The events up to the first sunset (day 366) are sent within ~9 s, and the replay goes on for
# ~30 s: the worker is stopped while events flow even when a busy machine makes it lag.
FAST = DemoConfig(customers=50, days=1460, rate=150.0, malformed_every=50)


async def test_every_element_shows_and_the_worker_stops_promptly(app_settings: Settings, worker_factory):
    settings = demo_settings(app_settings)
    await ensure_topics(settings)  # the full policy's own channel's topic too, as `winback demo` does
    worker = worker_factory(**worker_env(settings))
    observed = observing(settings)
    async with replaying(settings, FAST, observed) as tasks:
        await _until_all_seen(observed, timeout=40)
        assert not observed.replay_done, "stop while events flow: FAST replays too little"
        stopping = time.monotonic()
        await asyncio.to_thread(worker.wind_down)
        done_with_kafka = time.monotonic() - stopping
    worker.stop()
    exited = time.monotonic() - stopping
    # Committed and out of the group within 2 s (it was 30 s, then SIGKILL); the process exits about
    # 1.5 s after that, the event loop's own wind-down, which the demo overlaps with the broker's stop.
    assert done_with_kafka < 2.0, f"the worker took {done_with_kafka:.1f} s to commit and leave its group"
    assert exited < 4.0, f"the worker's process took {exited:.1f} s to exit"
    assert all(task.done() for task in tasks), "the producer or the watcher outlived the demo"
    assert observed.triggers["sunset"] and observed.conversions and observed.skips and observed.dead_letters
    assert worker.process is not None and worker.process.returncode == 0
    log = worker.log_path.read_text(errors="replace")[worker.log_offset :]
    assert "Signal received" in log and "Closing event loop" in log
    for trouble in ("wait_empty", "Traceback", "was destroyed but it is pending"):
        assert trouble not in log, f"{trouble!r} in the worker's log"


async def _until_all_seen(observed: Observed, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while set(ELEMENTS) - observed.first_seen.keys():
        missing = sorted(set(ELEMENTS) - observed.first_seen.keys())
        assert time.monotonic() < deadline, f"not seen after {timeout} s: {missing}"
        await asyncio.sleep(0.2)
