"""Events held back until event time passes them (the ``event`` clock), on either input path.

With the event clock the customers handler applies each customer's events in (time, event id)
order, the backtest's, however they arrive: from the internal events topic, whose markers move
the clock (``streams.runtime.watermarks``), or from input keyed by customer, read directly
(``streams.runtime.keyed_event_time``).  Either way an event waits here, per customer
partition, until the clock's time for that partition passes it (``ReorderBuffer``); the engine
is told, with each event applied, the earliest offset of its customer and input partition
still waiting (``WaitingOffsets``); and a record is acknowledged only once no earlier record of
its Kafka partition is held (``OrderedAcks``), so a held event is never committed and a crash
delivers it again.  A rebalance delivers every held event again too: then all is forgotten.
"""

from __future__ import annotations

from typing import Callable, Iterable

from faust.types.tuples import Message

from streams.model.events import AnyInput
from streams.model.positions import Position
from streams.runtime.ordered_acks import OrderedAcks
from streams.runtime.reorder import ReorderBuffer
from streams.runtime.waiting import WaitingOffsets

# A record to handle: what to apply (its event, a due tick's time, or None: a marker or an
# undecodable record, nothing), and where its event was read (None: not an event, or a
# forwarded one without its origin header).  Read once, the origin travels with the event.
Ready = tuple[Message, AnyInput | float | None, Position | None]


class HeldEvents:
    """The events a customers handler holds, and the records it may not acknowledge yet because of them."""

    def __init__(self, due_topic: str):
        self.due_topic = due_topic
        self._held: ReorderBuffer[Ready] = ReorderBuffer()
        self._acks: OrderedAcks[Message] = OrderedAcks()
        self._waiting = WaitingOffsets()

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, message: Message, event: AnyInput, origin: Position | None) -> float:
        """Hold ``event``, read from ``message`` (its input record: ``origin``), until ``release``;
        returns the event's time, which the clock must pass first."""
        at = event.occurred_at.timestamp()
        self._acks.hold(message.tp, message.offset)
        if origin is not None:
            self._waiting.add(message.partition, message.key, origin)
        self._held.hold(message.partition, at, event.event_id, (message, event, origin))
        return at

    def releasable(self, now: Callable[[int], float]) -> list[int]:
        """The customer partitions holding an event at or before their ``now(partition)``."""
        return self._held.releasable(now)

    def release(self, partition: int, now: float) -> list[Ready]:
        """Every event of ``partition`` held until ``now`` or earlier, in (time, event id) order."""
        return self._held.release(partition, now)

    def applying(self, message: Message, origin: Position) -> Position:
        """The released event of ``message`` is applied now: its ``origin``, with the earliest
        offset of its customer and input partition still held (``streams.model.positions``)."""
        return self._waiting.applying(message.partition, message.key, origin)

    def acknowledgeable(self, arrived: list[Message], handled: Iterable[Message]) -> list[Message]:
        """What of a batch may be acknowledged now that ``handled`` is (applied, dead-lettered, or
        nothing to apply): its due records at once, every other record once none before it in its
        partition is held, in offset order (some may be earlier batches' records that waited)."""
        done = [message for message in arrived if message.topic == self.due_topic]
        for message in handled:
            if message.topic != self.due_topic:
                done.extend(self._acks.done(message.tp, message.offset, message))
        return done

    def forget(self) -> None:
        """After a rebalance: every partition assigned here, a kept one too, is read again from
        its committed offset, which no held event is past, so each comes again."""
        self._held.forget()
        self._acks.forget()
        self._waiting.forget()
