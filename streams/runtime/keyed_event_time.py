"""The event clock on input keyed by customer (``WINBACK_INPUT_KEYED`` with ``WINBACK_CLOCK=event``).

The customers handler reads the input topics itself, so it knows how far each input partition
it owns is read, and a customer partition's time is computed where its records arrive
(``streams.runtime.clock.KeyedEventClock``), without the markers the repartitioning hop needs.
Events are held as on the repartitioned path (``streams.runtime.held_events``), an input
record being its own origin and acknowledged on its input partition.

Time also moves with no record arriving, when input partitions go idle.  A timer then settles
the clock and wakes each customer partition holding events due by its time with a record on
its partition of the due topic (``MARKER_KEY``), which brings the handler round to release them.
"""

from __future__ import annotations

from faust.types.tuples import Message

from streams.runtime.clock import NOTHING_DUE, KeyedEventClock
from streams.runtime.held_events import HeldEvents, Ready
from streams.runtime.topology import Topology
from streams.runtime.watermarks import MARKER_KEY, ReadOffsets


class HeldInput:
    """The keyed input a worker holds back until event time passes it, and the clock it drives."""

    def __init__(self, topology: Topology, clock: KeyedEventClock):
        self.topology = topology
        self.clock = clock
        self.topics = [topic.get_topic_name() for topic in topology.inputs.values()]
        self.offsets = ReadOffsets(topology.app)
        self.held = HeldEvents(topology.due.get_topic_name())

    def arrange(self, arrived: list[Message], ready: list[Ready]) -> list[Ready]:
        """What of a batch can be applied now, given what ``_keyed_reader`` made of it.

        Its events are held, the input partitions' latest times observed (once per partition)
        and the clock settled; then every held event its partition's time has passed is
        released, in (time, event id) order, and the batch's due ticks follow, at the time
        settled, after the events that could have prevented what they fire.  Wake-ups carry
        nothing to apply.
        """
        latest: dict[tuple[str, int], float] = {}
        ticks: list[Message] = []
        for message, content, origin in ready:
            if content is None or isinstance(content, float):  # (None: nothing the keyed reader gives)
                if message.key != MARKER_KEY:
                    ticks.append(message)
                continue
            at, source = self.held.hold(message, content, origin), (message.topic, message.partition)
            if at > latest.get(source, NOTHING_DUE):
                latest[source] = at
        for message in arrived:
            if message.topic != self.held.due_topic:
                self.offsets.read(message)
        for (topic, partition), at in latest.items():
            self.clock.observe(topic, partition, at)
        self.clock.settle(self.offsets.caught_up)
        now = self.clock.now
        released = [item for partition in self.held.releasable(now) for item in self.held.release(partition, now(partition))]
        return [*released, *((message, now(message.partition), None) for message in ticks)]

    async def wake(self) -> None:
        """Settle the clock and wake each customer partition holding events due by now (a timer calls this)."""
        self.clock.settle(self.offsets.caught_up)
        for partition in self.held.releasable(self.clock.now):
            await self.topology.due.send(key=MARKER_KEY, value=b"", partition=partition)

    async def own_assigned(self) -> None:
        """After a rebalance, start afresh: every input partition assigned here, a kept one too,
        is read again from its committed offset, so what was held (none of it committed) comes
        again, and how far each was read is known again only from what comes."""
        self.clock.own(self.topics, self.topology.customer_partitions())
        self.offsets.keep_only(set())
        self.held.forget()
