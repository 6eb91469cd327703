"""What "now" means to the scheduler.

- ``wall``: the machine's clock.  Production: inactivity is the absence of events, so only
  real time can tell that a quiet customer has lapsed, even when no events arrive at all.
- ``event``: event time, for replaying history through Kafka.  "Now" is a watermark: no event
  still to be applied is older than it, so a transition never fires before an event that
  would have prevented it.  Two stages make it exact despite the repartitioning hop:
  the input ``Watermark`` (where events are read) is the smallest of the latest event times of
  the input partitions, and each worker sends it as a marker record into every partition of
  the internal events topic *after* the events it covers; ``EventTimeClock`` (where events
  are applied) is the smallest marker over those partitions.  A partition that has been idle
  for ``idle_after`` wall seconds stops holding time back (otherwise one quiet partition would
  stall time for everyone, like Kafka Streams' STREAM_TIME); when all are idle, time is the
  latest event seen.  Input must be in time order per partition, as a replay is.
- ``fixed:<RFC 3339>``: a frozen instant, for tests that need exact, repeatable results.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Callable, Hashable, Protocol

NOTHING_DUE = float("-inf")
Wall = Callable[[], float]


class Clock(Protocol):
    def now(self, partition: int | None = None) -> float:
        """Current time in epoch seconds, as seen by the customers of ``partition``."""
        ...


class WallClock:
    """Real time."""

    def now(self, partition: int | None = None) -> float:
        return time.time()


class FixedClock:
    """Always the same instant."""

    def __init__(self, at: float):
        self.at = at

    def now(self, partition: int | None = None) -> float:
        return self.at


class Watermark:
    """Event-time progress over several sources: every event *before* it has been seen.

    It is the smallest of the sources' latest times (a source may still send more events at
    exactly its latest time).  A source silent for ``idle_after`` wall seconds is ignored;
    when all are, everything up to *and including* the latest time has been seen.  Ingest
    keeps one over its input partitions; the event clock one per internal partition, over the
    workers sending markers into it.
    """

    def __init__(self, idle_after: float = 5.0, wall: Wall = time.monotonic):
        self.idle_after = idle_after
        self.wall = wall
        self._latest: dict[Hashable, float] = {}
        self._heard: dict[Hashable, float] = {}

    def expect(self, source: Hashable) -> None:
        """Hold time back for ``source`` until it reports (or stays silent for ``idle_after``)."""
        if source not in self._latest:
            self._latest[source] = NOTHING_DUE
            self._heard[source] = self.wall()

    def observe(self, source: Hashable, value: float) -> None:
        if value > self._latest.get(source, NOTHING_DUE):
            self._latest[source] = value
        self._heard[source] = self.wall()

    def minimum(self, may_idle: Callable[[Hashable], bool] = lambda source: True) -> float:
        """The watermark; a silent source is ignored only if ``may_idle(source)`` (e.g. it is caught up)."""
        if not self._latest:
            return NOTHING_DUE
        cutoff = self.wall() - self.idle_after
        busy = [
            latest
            for source, latest in self._latest.items()
            if self._heard[source] > cutoff or not may_idle(source)
        ]
        return min(busy) if busy else math.nextafter(max(self._latest.values()), math.inf)


class EventTimeClock:
    """Event time where events are applied, per internal partition.

    A partition's watermark is the smallest of the markers the workers' ingest sent into it
    (a worker that stopped sending is ignored after ``idle_after``).  "Now" is the instant
    just before it: every event at or before now has arrived, so the partition's held events
    up to now can be applied and its customers due by now can be acted on.  Asked without a
    partition, it is the earliest over all partitions.
    """

    def __init__(self, idle_after: float = 5.0, wall: Wall = time.monotonic):
        self.idle_after = idle_after
        self.wall = wall
        self._partitions: dict[int, Watermark] = {}

    def observe_marker(self, partition: int, sender: str, watermark: float) -> None:
        self._partitions.setdefault(partition, Watermark(self.idle_after, self.wall)).observe(sender, watermark)

    def now(self, partition: int | None = None) -> float:
        if partition is not None:
            watermark = self._partitions.get(partition)
            return _just_before(watermark.minimum()) if watermark is not None else NOTHING_DUE
        return min((_just_before(watermark.minimum()) for watermark in self._partitions.values()), default=NOTHING_DUE)


def _just_before(watermark: float) -> float:
    return math.nextafter(watermark, -math.inf)


def parse_clock(spec: str, idle_after: float = 5.0) -> Clock:
    """Build a clock from its setting: ``wall``, ``event`` or ``fixed:<RFC 3339 time>``."""
    if spec == "wall":
        return WallClock()
    if spec == "event":
        return EventTimeClock(idle_after)
    if spec.startswith("fixed:"):
        moment = datetime.fromisoformat(spec.removeprefix("fixed:"))
        if moment.tzinfo is None:
            raise ValueError(f"fixed clock time needs a UTC offset: {spec!r}")
        return FixedClock(moment.timestamp())
    raise ValueError(f"unknown clock {spec!r}: use wall, event or fixed:<RFC 3339 time>")
