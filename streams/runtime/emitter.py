"""Publishing what the engine decided: triggers to the audit topic, commands to their channel,
skips and outcomes to theirs, and the customers' changed stages to the customer-stage topic.

``publish`` returns only once Kafka has acknowledged every record.  The agent calls it before
it writes the customer's new state to the table, so a crash in between means the event is
processed again and the records are published again *with the same ids* (senders
de-duplicate on ``command_id``); the opposite order could lose a command for good.
"""

from __future__ import annotations

from typing import Sequence

from streams.model.records import MessageCommand, Record, Skip, Trigger
from streams.runtime.faust_patches import kafka_producer
from streams.runtime.output_encoding import STAGE, OutputEncoding
from streams.runtime.partition_batches import Outgoing, PartitionBatches, delivered
from streams.runtime.stage_topic import StageChange
from streams.runtime.topology import Topology


class Emitter:
    """Sends records to the topics of a topology and waits for their acknowledgement; each
    record carries its content-type and schema headers (``streams.runtime.output_encoding``)."""

    def __init__(self, topology: Topology, encoding: OutputEncoding | None = None):
        self.topology = topology
        self.encoding = encoding or OutputEncoding()
        self.commands = {channel: topic.get_topic_name() for channel, topic in topology.commands.items()}
        self.triggers = topology.triggers.get_topic_name()
        self.skips = topology.skips.get_topic_name()
        self.outcomes = topology.outcomes.get_topic_name()
        self.stages = topology.stages.get_topic_name()
        self.topics: dict[type, str] = {Trigger: self.triggers, Skip: self.skips}  # by kind (not commands: by channel)

    async def publish(self, records: Sequence[Record], stages: Sequence[StageChange] = ()) -> None:
        """Send ``records`` and the customers' changed ``stages`` (compacted topic), then wait for all.

        They go to the producer's Kafka client as one batch per partition
        (``streams.runtime.partition_batches``): the values are bytes already, and Faust's
        per-record send would add a future and a partitioner call for each."""
        outgoing = [self._outgoing(record) for record in records]
        outgoing += [self._stage(key, value) for key, value in stages]
        if outgoing:
            batches = PartitionBatches(kafka_producer(self.topology.app))
            await delivered(await batches.submit(outgoing))

    def _outgoing(self, record: Record) -> Outgoing:
        topic = self._topic_of(record)
        value, headers = self.encoding.encode(record, topic)
        return Outgoing(topic, record.customer_id.encode(), value, headers)

    def _stage(self, key: bytes, value: bytes | None) -> Outgoing:
        """A customer's stage record (framed and labelled like every output), or a tombstone."""
        if value is None:
            return Outgoing(self.stages, key, None, [])
        framed, headers = self.encoding.frame(STAGE, self.stages, value)
        return Outgoing(self.stages, key, framed, headers)

    def _topic_of(self, record: Record) -> str:
        """Triggers to the audit topic, commands to their channel's, skips and outcomes to theirs
        (every other kind of record with the outcomes)."""
        if isinstance(record, MessageCommand):
            return self.commands[record.channel]
        return self.topics.get(record.__class__, self.outcomes)
