"""Offsets are committed only after every state write made so far is acknowledged by Kafka.

Faust sends a table write to its changelog through the producer's buffer (``send_soon``),
and before committing an input offset it waits only for messages *attached* to that offset,
which changelog writes are not, and then calls ``producer.flush()``.  That flush is not a
barrier: the buffer's flush gives up after 0.1 s without a message going out, and a message
its sender task has taken off the queue but not yet handed to the Kafka client is in neither
the queue nor the client, so neither flush waits for it.  Either way an offset can be
committed while its record's state write is still on its way, and two things then lose it:
a kill -9 before the write leaves, and a rebalance in which the partition's new owner
restores the table from the changelog before the write arrives (the reliability suite's
kill -9 and two-worker tests each caught this).

The fix is exact instead of timed: the producer keeps every message handed to ``send_soon``
until Kafka acknowledges it, and the consumer, once it knows which offsets it will commit
(records acknowledged by the agents, whose state writes are therefore already handed over),
waits for all of them before committing.  A write that fails stops the commit and crashes
the worker, so its input is processed again after the restart.  The cost is one wait per
commit (every ``broker_commit_every`` records or commit interval), not per record.
"""

from __future__ import annotations

import asyncio
from typing import Any, Mapping

import faust
from faust.exceptions import ProducerSendError
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import FutureMessage


class DurableProducer(faust_aiokafka.Producer):
    """A producer that knows which of its buffered messages Kafka has not acknowledged yet."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unacknowledged: set[FutureMessage] = set()

    def send_soon(self, fut: FutureMessage) -> None:
        self.unacknowledged.add(fut)
        fut.add_done_callback(self.unacknowledged.discard)
        super().send_soon(fut)

    async def acknowledged(self) -> None:
        """Return once every message handed over so far is on the broker; raise if one failed."""
        pending = list(self.unacknowledged)
        if not pending:
            return
        for outcome in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise ProducerSendError(f"a state write was not delivered: {outcome!r}") from outcome


class DurableConsumer(faust_aiokafka.Consumer):
    async def _handle_attached(self, commit_offsets: Mapping[TP, int]) -> None:
        """Called with the offsets about to be committed: their state writes must be on Kafka first."""
        await self.app.producer.acknowledged()
        await super()._handle_attached(commit_offsets)


class DurableTransport(faust_aiokafka.Transport):
    Consumer = DurableConsumer
    Producer = DurableProducer


class DurableApp(faust.App):
    """A Faust app whose consumer commits offsets only behind the changelog."""

    def _new_transport(self) -> Any:
        return DurableTransport(self.conf.broker_consumer, self)
