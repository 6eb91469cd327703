"""The worker's Kafka consumer, measured for Prometheus: lag per partition and commit time.

Faust's own ``setup_prometheus_sensors`` (faust-streaming 0.15.3) is not used: it names its
metrics after the app id (``<app_id>_consumer_commit_latency``...), so no rule or dashboard
could name them for every deployment; it observes milliseconds, not base units; and its end
offsets are recorded only when records are fetched, so a consumer that stopped fetching
shows a frozen end offset instead of a growing lag.  Instead:

- ``winback_consumer_lag_records``: every ``LAG_INTERVAL_SECONDS`` the log end offsets of the
  partitions this worker consumes are asked from the broker, minus the committed offset
  (what Kafka's own tools call the group's lag).  The committed offset is the latest one this
  worker committed since the partition was assigned, or the consumer's position when it was
  assigned (the group's committed offset, or slightly past it if Faust already fetched).
- ``winback_consumer_commit_seconds``: a Faust sensor times each commit round.
"""

from __future__ import annotations

import logging
import time
from typing import Iterable

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import ConsumerNotStarted
from faust.types import TP

from streams.runtime.observability import metrics

log = logging.getLogger(__name__)

LAG_INTERVAL_SECONDS = 5.0  # below the 15 s scrape interval, one ListOffsets request per refresh


class LagWatcher:
    """Refreshes ``metrics.CONSUMER_LAG`` for the consumed topics (a Faust timer)."""

    def __init__(self, app: faust.App, topics: Iterable[str]):
        self.app = app
        self.topics = frozenset(topics)
        self.generation = -1
        self.assigned_at: dict[TP, int] = {}  # the position when this generation's assignment began

    async def refresh(self) -> None:
        try:
            assigned = {tp for tp in self.app.consumer.assignment() if tp.topic in self.topics}
            ends = await self.app.consumer.highwaters(*assigned) if assigned else {}
            await self._note_assignment(assigned)
        except (ConsumerNotStarted, KafkaError) as error:  # not started yet, or rebalancing
            log.debug("consumer lag not measured: %r", error)
            return
        committed = self.app.monitor.tp_committed_offsets
        metrics.CONSUMER_LAG.update({
            (tp.topic, tp.partition): max(end - max(self.assigned_at[tp], committed.get(tp, 0)), 0)
            for tp, end in ends.items()
        })

    async def _note_assignment(self, assigned: set[TP]) -> None:
        """Start over after a rebalance: an offset this worker committed before it may be stale."""
        if self.generation != self.app.consumer_generation_id:
            self.generation = self.app.consumer_generation_id
            self.assigned_at = {}
        for tp in assigned - self.assigned_at.keys():
            self.assigned_at[tp] = await self.app.consumer.position(tp) or 0


class CommitTimer(faust.Sensor):
    """Observes ``winback_consumer_commit_seconds`` for each commit round (producer flush and offset commit)."""

    def on_commit_initiated(self, consumer: object) -> float:
        return time.monotonic()

    def on_commit_completed(self, consumer: object, state: float) -> None:
        metrics.COMMIT.observe(time.monotonic() - state)


def watch_consumer(app: faust.App, topics: Iterable[str]) -> None:
    """Measure the lag of ``topics`` and the commit time of the app's consumer."""
    app.sensors.add(CommitTimer())
    app.timer(LAG_INTERVAL_SECONDS, name="consumer-lag")(LagWatcher(app, topics).refresh)
