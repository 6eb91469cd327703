"""The worker's Kafka consumer, measured for Prometheus: lag per partition and commit time.

Faust's own ``setup_prometheus_sensors`` (faust-streaming 0.15.3) is not used: it names its
metrics after the app id (``<app_id>_consumer_commit_latency``...), so no rule or dashboard
could name them for every deployment; it observes milliseconds, not base units; and its end
offsets are recorded only when records are fetched, so a consumer that stopped fetching
shows a frozen end offset instead of a growing lag.  Instead:

- ``winback_consumer_lag_records``: for each partition this worker is assigned, its log end
  offset minus the consumer group's committed offset, both asked from the broker (what Kafka's
  own tools call the group's lag; the log start offset where the group committed nothing).
  Not the consumer's position: after a restart on a backlog Faust fetches ahead at once, so
  the position sits near the end and the lag read 0 while the whole backlog waited.  Measured
  every ``LAG_INTERVAL_SECONDS`` and as soon as partitions are assigned, by clients of its own
  with bounded timeouts, so a slow broker delays the gauge, never the agents.
- ``winback_consumer_commit_seconds``: a Faust sensor times each commit round.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Iterable

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faust.exceptions import ConsumerNotStarted
from faust.types import TP
from mode import Service

from streams.runtime.observability import metrics

log = logging.getLogger(__name__)

LAG_INTERVAL_SECONDS = 5.0  # below the 15 s scrape interval: one ListOffsets and one OffsetFetch per refresh
LAG_TIMEOUT_SECONDS = 4.0  # one whole refresh (connecting included), so refreshes never pile up


class GroupOffsets:
    """End offsets and a consumer group's committed offsets, asked from the broker by clients of
    its own (a consumer outside any group and an admin client), started on first use.
    ``connection``: how they reach the cluster (``streams.runtime.connection.client_options``)."""

    def __init__(self, connection: dict[str, Any], group: str):
        self.connection = connection
        self.group = group
        self.clients: tuple[AIOKafkaConsumer, AIOKafkaAdminClient] | None = None

    async def lag(self, partitions: set[TP]) -> dict[TP, int]:
        """Records not yet committed by the group, per partition."""
        consumer, admin = await self._started()
        ends = await consumer.end_offsets(list(partitions))
        committed = await admin.list_consumer_group_offsets(self.group, partitions=list(partitions))
        uncommitted = [tp for tp in partitions if tp not in committed or committed[tp].offset < 0]
        starts = await consumer.beginning_offsets(uncommitted) if uncommitted else {}
        return {
            tp: max(end - (starts[tp] if tp in starts else committed[tp].offset), 0) for tp, end in ends.items()
        }

    async def _started(self) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient]:
        if self.clients is None:
            options: dict[str, Any] = {
                **self.connection, "client_id": f"{self.group}-lag", "request_timeout_ms": 3000,
            }
            self.clients = AIOKafkaConsumer(**options, enable_auto_commit=False), AIOKafkaAdminClient(**options)
            for client in self.clients:
                await client.start()
        return self.clients

    async def close(self) -> None:
        if self.clients is not None:
            consumer, admin = self.clients
            self.clients = None
            await consumer.stop()
            await admin.close()


class LagWatcher(Service):
    """Keeps ``metrics.CONSUMER_LAG`` up to date for the consumed topics (a service of the app)."""

    def __init__(self, app: faust.App, topics: Iterable[str], connection: dict[str, Any]):
        super().__init__()
        self.app = app
        self.topics = frozenset(topics)
        self.offsets = GroupOffsets(connection, app.conf.id)
        self.assigned = asyncio.Event()
        self.failing = False
        app.on_partitions_assigned.connect(self._on_assigned)

    def _on_assigned(self, sender: object, assigned: set[TP], **kwargs: object) -> None:
        self.assigned.set()  # measure now: a restarted worker's backlog must show before it drains

    @Service.task
    async def _watch(self) -> None:
        while not self.should_stop:
            self.assigned.clear()
            await self.refresh()
            try:
                await asyncio.wait_for(self.assigned.wait(), LAG_INTERVAL_SECONDS)
            except asyncio.TimeoutError:
                pass

    async def refresh(self) -> None:
        """Measure the lag of this worker's partitions; on failure keep the last figures and say so once."""
        try:
            assigned = {tp for tp in self.app.consumer.assignment() if tp.topic in self.topics}
            lag = await asyncio.wait_for(self.offsets.lag(assigned), LAG_TIMEOUT_SECONDS) if assigned else {}
        except ConsumerNotStarted:
            return
        except (KafkaError, OSError, asyncio.TimeoutError) as error:
            await self._failed(error)
            return
        if self.failing:
            log.info("consumer lag measured again")
        self.failing = False
        metrics.CONSUMER_LAG.update({(tp.topic, tp.partition): records for tp, records in lag.items()})

    async def _failed(self, error: BaseException) -> None:
        if not self.failing:
            log.warning("consumer lag not measured (the gauge keeps its last figures): %r", error)
        self.failing = True
        await self.offsets.close()  # a client cut off mid-request starts afresh next time

    async def on_stop(self) -> None:
        await self.offsets.close()


class CommitTimer(faust.Sensor):
    """Observes ``winback_consumer_commit_seconds`` for each commit round (producer flush and offset commit)."""

    def on_commit_initiated(self, consumer: object) -> float:
        return time.monotonic()

    def on_commit_completed(self, consumer: object, state: float) -> None:
        metrics.COMMIT.observe(time.monotonic() - state)


def watch_consumer(app: faust.App, topics: Iterable[str], connection: dict[str, Any]) -> None:
    """Measure the lag of ``topics`` and the commit time of the app's consumer; ``connection``:
    the keyword arguments that make a client reach the cluster (``connection.client_options``)."""
    app.sensors.add(CommitTimer())
    app.add_dependency(LagWatcher(app, topics, connection))
