"""Publishing what the engine decided: triggers to the audit topic, commands to their channel,
skips and outcomes to theirs, and the customers' changed stages to the customer-stage topic.

``publish`` returns only once Kafka has acknowledged every record.  The agent calls it before
it writes the customer's new state to the table, so a crash in between means the event is
processed again and the records are published again *with the same ids* (senders
de-duplicate on ``command_id``); the opposite order could lose a command for good.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Sequence

from streams.model.records import MessageCommand, Record, Skip, Trigger
from streams.runtime.output_encoding import STAGE, OutputEncoding
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

    async def publish(self, records: Sequence[Record], stages: Sequence[StageChange] = ()) -> None:
        """Send ``records`` and the customers' changed ``stages`` (compacted topic), then wait for all.

        Records go straight to the producer (its Kafka client: the values are bytes already,
        Faust's topic layer would add nothing)."""
        deliveries = [await self._send(record) for record in records]
        deliveries += [await self._send_stage(key, value) for key, value in stages]
        if deliveries:
            await asyncio.gather(*deliveries)

    async def _send(self, record: Record) -> Awaitable[object]:
        topic = self._topic_of(record)
        value, headers = self.encoding.encode(record, topic)
        return await self.topology.app.producer.send(topic, record.customer_id.encode(), value, None, None, list(headers))

    async def _send_stage(self, key: bytes, value: bytes | None) -> Awaitable[object]:
        """A customer's stage record (framed and labelled like every output), or a tombstone."""
        if value is None:
            return await self.topology.app.producer.send(self.stages, key, None, None, None, None)
        framed, headers = self.encoding.frame(STAGE, self.stages, value)
        return await self.topology.app.producer.send(self.stages, key, framed, None, None, list(headers))

    def _topic_of(self, record: Record) -> str:
        """Triggers to the audit topic, commands to their channel's, skips and outcomes to theirs."""
        if isinstance(record, MessageCommand):
            return self.commands[record.channel]
        if isinstance(record, Trigger):
            return self.triggers
        return self.skips if isinstance(record, Skip) else self.outcomes
