"""Offsets are committed only after the table's changelog writes are on the broker.

Faust sends a table write to its changelog through the producer's buffer (``send_soon``),
and commits an input offset after waiting only for messages *attached* to it, which changelog
writes are not.  A worker killed between the commit and the buffer's flush loses the state
write of a record whose offset is already committed: the record is never applied again (the
reliability suite's kill -9 test caught exactly that).  This consumer flushes the producer,
buffer and client, before every commit, so a committed offset always has its state on Kafka.
The cost is one flush per commit (every ``broker_commit_every`` records or commit interval),
not per record.
"""

from __future__ import annotations

from typing import Any, Iterable

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP


class DurableConsumer(faust_aiokafka.Consumer):
    async def _commit_tps(self, tps: Iterable[TP], start_new_transaction: bool) -> bool:
        await self.app.producer.flush()  # changelog writes handed to Kafka and acknowledged
        return await super()._commit_tps(tps, start_new_transaction)


class DurableTransport(faust_aiokafka.Transport):
    Consumer = DurableConsumer


class DurableApp(faust.App):
    """A Faust app whose consumer commits offsets only behind the changelog."""

    def _new_transport(self) -> Any:
        return DurableTransport(self.conf.broker_consumer, self)
