"""Carrying event time across the repartitioning hop, for the ``event`` clock.

Ingest reads events from input partitions and forwards them, keyed by customer, to the
internal events topic.  The customer agent applies them later, so "the latest event time
ingest has seen" is not yet safe to act on: older events may still be in flight.  Each worker
therefore sends, every interval, a marker into *every* partition of the internal topic, after
the events it has forwarded: for each input partition it reads, the latest event time
forwarded and whether the partition is idle, and the partition count of every input topic.
Kafka keeps a partition's order, so when the customer agent reads a marker, every event it
covers has been applied; and since every internal partition may get events from every input
partition, its clock takes the minimum over all of them, whichever worker reads each
(``streams.runtime.clock.EventTimeClock``).
"""

from __future__ import annotations

import time
from typing import AbstractSet, Iterator, cast

import faust
import msgspec
from faust.types import TP

from streams.runtime.clock import NOTHING_DUE, Progress, Watermark
from streams.runtime.faust_patches import committed_offset, partition_count
from streams.runtime.topology import Topology

# Customer ids cannot contain control characters, so this key never collides with a customer.
MARKER_KEY = b"\x00watermark"


class Reading(msgspec.Struct, frozen=True, array_like=True):
    """How far a worker has read one input partition."""

    topic: str
    partition: int
    latest: float | None  # the latest event time forwarded (None: none yet)
    idle: bool  # caught up and quiet: it holds time back no longer

    @classmethod
    def of(cls, progress: Progress) -> Reading:
        topic, partition = cast(tuple[str, int], progress.source)  # a sender's sources are input partitions
        return cls(topic, partition, None if progress.latest == NOTHING_DUE else progress.latest, progress.idle)


class Marker(msgspec.Struct, frozen=True):
    """The sending worker has forwarded every event of its input partitions up to their ``latest``.

    ``inputs``: every input topic with its partition count, so that the clock holds time back
    for a partition that no worker has reported yet.
    """

    inputs: dict[str, int]
    readings: list[Reading]

    def expected(self) -> Iterator[tuple[str, int]]:
        """Every input partition: each feeds every internal partition."""
        return ((topic, partition) for topic, count in self.inputs.items() for partition in range(count))

    def progress(self) -> Iterator[Progress]:
        """The readings as the clock takes them."""
        for reading in self.readings:
            latest = NOTHING_DUE if reading.latest is None else reading.latest
            yield Progress((reading.topic, reading.partition), latest, reading.idle)


MARKER_DECODER = msgspec.json.Decoder(Marker)
_ENCODER = msgspec.json.Encoder()


class ReadOffsets:
    """How far this worker has handled each input partition it reads: an input partition may
    count as idle only once it is caught up."""

    def __init__(self, app: faust.App):
        self.app = app
        self._next: dict[tuple[str, int], int] = {}  # input partition -> next offset to read

    def read(self, message) -> None:
        """``message`` of an input partition is handled (applied, held or dead-lettered)."""
        self._next[(message.topic, message.partition)] = message.offset + 1

    def caught_up(self, source: tuple[str, int]) -> bool:
        """Nothing more to read in this input partition for now: only then may it count as idle.

        A partition that is merely lagging (the worker busy with other topics) must keep
        holding time back, or events still unread in it would arrive after their customers'
        transitions fired.  One not assigned here (any more: a rebalance is under way) is not.
        """
        tp, consumer = TP(*source), self.app.consumer
        if tp not in consumer.assignment():
            return False
        highwater = consumer.highwater(tp)
        next_offset = self._next.get(source)
        if next_offset is None:  # not read since the worker started: what an earlier run committed is handled
            next_offset = committed_offset(consumer, tp)
        return highwater is not None and next_offset >= highwater

    def keep_only(self, sources: AbstractSet[tuple[str, int]]) -> None:
        """Forget the input partitions read elsewhere now."""
        self._next = {source: offset for source, offset in self._next.items() if source in sources}


class MarkerSender:
    """This worker's input watermark, and the markers that publish it downstream."""

    def __init__(self, topology: Topology, partitions: int, idle_after: float):
        self.topology = topology
        self.partitions = partitions
        self.input = Watermark(idle_after, wall=time.monotonic)
        self.offsets = ReadOffsets(topology.app)

    def observe(self, message, event_time: float | None) -> None:
        """Ingest handled ``message`` (forwarded, with its event time, or dead-lettered: None)."""
        self.offsets.read(message)
        if event_time is not None:
            self.input.observe((message.topic, message.partition), event_time)

    async def broadcast(self) -> None:
        """Send this worker's readings of its input partitions into every internal partition (a timer calls this).

        Every assigned input partition holds time back from the start, even before its first
        record: otherwise a topic whose consumer starts late would be overtaken.  A partition
        no longer assigned is forgotten: its new reader reports it now.  Nothing is sent
        before the input topics' partition counts are known, nor by a worker reading none.
        """
        assigned = {(tp.topic, tp.partition) for tp in self.topology.active(*self.topology.inputs.values())}
        if not assigned:
            return
        inputs = self._input_partitions()
        if inputs is None:
            return
        self.input.keep_only(assigned)
        self.offsets.keep_only(assigned)
        for source in assigned:
            self.input.expect(source)
        readings = [Reading.of(progress) for progress in self.input.progress(may_idle=self.offsets.caught_up)]
        value = _ENCODER.encode(Marker(inputs, readings))
        for partition in range(self.partitions):
            await self.topology.events.send(key=MARKER_KEY, value=value, partition=partition)

    def _input_partitions(self) -> dict[str, int] | None:
        """Every input topic's partition count, as the cluster metadata has it (None: not known yet)."""
        consumer = self.topology.app.consumer
        counts = {name: partition_count(consumer, name) for name in (topic.get_topic_name() for topic in self.topology.inputs.values())}
        if any(count is None for count in counts.values()):
            return None
        return counts  # type: ignore[return-value]
