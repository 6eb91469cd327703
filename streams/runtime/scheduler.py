"""The scheduler: finds customers whose next transition is due, on every worker, for its own partitions.

Faust forbids table writes outside stream iteration, and a timer is not a stream, so the
scheduler never changes state itself: each tick pops the customers due by now from the
``DueIndex`` and publishes a tick record for each, keyed by customer and sent to the
customer's own partition of the due topic.  The customer agent, which consumes that topic
together with the events, re-checks the state, fires what is due and writes the table.  A
tick therefore costs O(customers due), and a tick lost in a crash is harmless: the index
is rebuilt from the table when partitions are (re)assigned, and anything overdue is due.
"""

from __future__ import annotations

import logging
from collections import Counter

import msgspec

from streams.runtime.observability import metrics
from streams.model.activity import CustomerActivity
from streams.runtime.clock import Clock
from streams.runtime.due_index import PartitionedDueIndex
from streams.runtime.partitioning import partition_of
from streams.core.engine import Engine
from streams.runtime.topology import Topology

log = logging.getLogger(__name__)


class DueTick(msgspec.Struct, frozen=True):
    """The record on the due topic: this customer had something due at ``due_at``.

    The receiver only needs the key (it re-checks the state); the time is there for people
    reading the topic.
    """

    due_at: float


_TICK_ENCODER = msgspec.json.Encoder()


class Scheduler:
    """Keeps the due index of this worker's active partitions and publishes due ticks."""

    def __init__(self, topology: Topology, engine: Engine, clock: Clock, max_per_tick: int):
        self.topology = topology
        self.engine = engine
        self.clock = clock
        self.max_per_tick = max_per_tick
        self.index = PartitionedDueIndex()

    def track(self, partition: int, customer_id: str, state: CustomerActivity) -> None:
        """Remember when this customer is next due (called after every state change)."""
        self.index.set(partition, customer_id, self.engine.next_due(state))

    def untrack(self, partition: int, customer_id: str) -> None:
        """Forget this customer (their key was deleted)."""
        self.index.set(partition, customer_id, None)

    async def tick(self) -> None:
        """Publish a due tick for every customer due by now (at most ``max_per_tick``)."""
        with metrics.SCHEDULER_TICK.time():
            for partition, customer_id, due in self.index.pop_due(self.clock.now, self.max_per_tick):
                await self.topology.due.send(
                    key=customer_id.encode(), value=_TICK_ENCODER.encode(DueTick(due)), partition=partition
                )
                metrics.DUE_PUBLISHED.inc()
        metrics.DUE_INDEX_SIZE.set(len(self.index))

    async def rebuild(self) -> None:
        """Re-index the customers of the active partitions (after a rebalance and table recovery).

        O(table size) once per rebalance; the memory store also holds standby and revoked
        partitions, so each key is attributed to its partition with the partitioner.  The
        customers-per-stage gauge is recounted in the same pass, over the same partitions.
        """
        active = self.topology.customer_partitions()
        partitions = self.topology.activity.partitions or self.topology.app.conf.topic_partitions
        entries: dict[int, list[tuple[str, float]]] = {partition: [] for partition in active}
        stages: Counter[int] = Counter()
        for key, raw in self.topology.activity.items():
            partition = partition_of(key, partitions)
            if partition in entries:
                state = CustomerActivity.decode(raw)
                if not state.is_erased():
                    stages[state.stage] += 1
                due = self.engine.next_due(state)
                if due is not None:
                    entries[partition].append((key.decode(), due))
        for partition in self.index.partitions - active:
            self.index.drop(partition)
        for partition, due in entries.items():
            self.index.load(partition, due)
        metrics.DUE_INDEX_SIZE.set(len(self.index))
        metrics.set_customers_per_stage(stages)
        log.info("due index rebuilt: %d customers on partitions %s", len(self.index), sorted(active))
