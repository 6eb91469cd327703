"""Publishing what the engine decided: triggers to the audit topic, commands to their channel.

``publish`` returns only once Kafka has acknowledged every record.  The agent calls it before
it writes the customer's new state to the table, so a crash in between means the event is
processed again and the records are published again *with the same ids* (senders
de-duplicate on ``command_id``); the opposite order could lose a command for good.
"""

from __future__ import annotations

import asyncio
from typing import Iterable

import msgspec

from streams import metrics
from streams.commands import MessageCommand, Trigger
from streams.engine import Record
from streams.topology import Topology

_ENCODER = msgspec.json.Encoder()


class Emitter:
    """Sends records to the topics of a topology and waits for their acknowledgement."""

    def __init__(self, topology: Topology):
        self.topology = topology

    async def publish(self, records: Iterable[Record]) -> None:
        deliveries = [await self._send(record) for record in records]
        if deliveries:
            await asyncio.gather(*deliveries)

    async def _send(self, record: Record) -> asyncio.Future:
        key = record.customer_id.encode()
        if isinstance(record, Trigger):
            metrics.TRIGGERS.labels(record.stage, record.campaign).inc()
            return await self.topology.triggers.send(key=key, value=_ENCODER.encode(record))
        assert isinstance(record, MessageCommand)
        metrics.COMMANDS.labels(record.channel, record.campaign, str(record.step)).inc()
        return await self.topology.commands[record.channel].send(key=key, value=_ENCODER.encode(record))
