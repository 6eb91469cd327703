"""Publishing what the engine decided: triggers to the audit topic, commands to their channel,
skips and outcomes to theirs.

``publish`` returns only once Kafka has acknowledged every record.  The agent calls it before
it writes the customer's new state to the table, so a crash in between means the event is
processed again and the records are published again *with the same ids* (senders
de-duplicate on ``command_id``); the opposite order could lose a command for good.
"""

from __future__ import annotations

import asyncio
from typing import Sequence

import msgspec

from streams.model.records import MessageCommand, Record, Skip, Trigger
from streams.runtime.topology import Topology

_ENCODER = msgspec.json.Encoder()


class Emitter:
    """Sends records to the topics of a topology and waits for their acknowledgement."""

    def __init__(self, topology: Topology):
        self.topology = topology
        self.commands = {channel: topic.get_topic_name() for channel, topic in topology.commands.items()}
        self.triggers = topology.triggers.get_topic_name()
        self.skips = topology.skips.get_topic_name()
        self.outcomes = topology.outcomes.get_topic_name()

    async def publish(self, records: Sequence[Record]) -> None:
        """Hand every record to the producer (straight to its Kafka client: the records are bytes
        already, Faust's topic layer would add nothing), then wait for all acknowledgements."""
        send = self.topology.app.producer.send
        deliveries = [
            await send(self._topic_of(record), record.customer_id.encode(), _ENCODER.encode(record), None, None, None)
            for record in records
        ]
        if deliveries:
            await asyncio.gather(*deliveries)

    def _topic_of(self, record: Record) -> str:
        """Triggers to the audit topic, commands to their channel's, skips and outcomes to theirs."""
        if isinstance(record, MessageCommand):
            return self.commands[record.channel]
        if isinstance(record, Trigger):
            return self.triggers
        return self.skips if isinstance(record, Skip) else self.outcomes
