"""Carrying event time across the repartitioning hop, for the ``event`` clock.

Ingest reads events from input partitions and forwards them, keyed by customer, to the
internal events topic.  The customer agent applies them later, so "the latest event time
ingest has seen" is not yet safe to act on: older events may still be in flight.  Each worker
therefore sends, every interval, a marker with its input watermark into *every* partition of
the internal topic, after the events it has forwarded.  Kafka keeps a partition's order, so
when the customer agent reads a marker, every event that it covers has been applied.
"""

from __future__ import annotations

import os
import socket
import time
import uuid

import msgspec
from faust.types import TP

from streams.runtime.clock import NOTHING_DUE, Watermark
from streams.runtime.faust_patches import committed_offset
from streams.runtime.topology import Topology

# Customer ids cannot contain control characters, so this key never collides with a customer.
MARKER_KEY = b"\x00watermark"


class Marker(msgspec.Struct, frozen=True):
    """``sender`` has forwarded every input event older than ``watermark``."""

    sender: str
    watermark: float


MARKER_DECODER = msgspec.json.Decoder(Marker)
_ENCODER = msgspec.json.Encoder()


class MarkerSender:
    """This worker's input watermark, and the markers that publish it downstream."""

    def __init__(self, topology: Topology, partitions: int, idle_after: float):
        self.topology = topology
        self.partitions = partitions
        self.input = Watermark(idle_after, wall=time.monotonic)
        self.sender = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._next_offset: dict[tuple[str, int], int] = {}  # input partition -> next offset to read

    def observe(self, message, event_time: float | None) -> None:
        """Ingest handled ``message`` (forwarded, with its event time, or dead-lettered: None)."""
        source = (message.topic, message.partition)
        self._next_offset[source] = message.offset + 1
        if event_time is not None:
            self.input.observe(source, event_time)

    def _caught_up(self, source: tuple[str, int]) -> bool:
        """Nothing more to read in this input partition for now: only then may it count as idle.

        A partition that is merely lagging (the worker busy with other topics) must keep
        holding time back, or events still unread in it would arrive after their customers'
        transitions fired.
        """
        tp, consumer = TP(*source), self.topology.app.consumer
        highwater = consumer.highwater(tp)
        next_offset = self._next_offset.get(source)
        if next_offset is None:  # not read since the worker started: what an earlier run committed is handled
            next_offset = committed_offset(consumer, tp)
        return highwater is not None and next_offset >= highwater

    async def broadcast(self) -> None:
        """Send the current input watermark into every internal partition (a timer calls this).

        Every assigned input partition holds time back from the start, even before its first
        record: otherwise a topic whose consumer starts late would be overtaken.
        """
        for tp in self.topology.active(*self.topology.inputs.values()):
            self.input.expect((tp.topic, tp.partition))
        watermark = self.input.minimum(may_idle=self._caught_up)
        if watermark == NOTHING_DUE:
            return
        value = _ENCODER.encode(Marker(self.sender, watermark))
        for partition in range(self.partitions):
            await self.topology.events.send(key=MARKER_KEY, value=value, partition=partition)
