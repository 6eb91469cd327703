"""What "now" means to the scheduler.

- ``wall``: the machine's clock.  Production: inactivity is the absence of events, so only
  real time can tell that a quiet customer has lapsed, even when no events arrive at all.
- ``event``: event time, for replaying history through Kafka.  "Now" is a watermark: the
  smallest of the latest event times seen on each input partition, so a partition that lags
  behind holds time back instead of letting its customers' late events arrive after their
  transitions fired.  A partition that has been idle (no records) for ``idle_after`` wall
  seconds stops holding time back, otherwise one quiet partition would stall time for every
  customer (the STREAM_TIME stall of Kafka Streams).  Before any event, nothing is due.
- ``fixed:<RFC 3339>``: a frozen instant, for tests that need exact, repeatable results.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable, Hashable, Protocol

NOTHING_DUE = float("-inf")


class Clock(Protocol):
    def now(self) -> float:
        """Current time, epoch seconds."""
        ...

    def observe(self, source: Hashable, event_time: float) -> None:
        """Learn from an event read from ``source`` (a topic partition)."""
        ...


class WallClock:
    """Real time; ignores event times."""

    def now(self) -> float:
        return time.time()

    def observe(self, source: Hashable, event_time: float) -> None:
        return None


class FixedClock:
    """Always the same instant."""

    def __init__(self, at: float):
        self.at = at

    def now(self) -> float:
        return self.at

    def observe(self, source: Hashable, event_time: float) -> None:
        return None


class EventTimeClock:
    """Watermark over input partitions, ignoring partitions idle for ``idle_after`` seconds."""

    def __init__(self, idle_after: float = 5.0, wall: Callable[[], float] = time.monotonic):
        self.idle_after = idle_after
        self.wall = wall
        self._latest: dict[Hashable, float] = {}  # source -> latest event time seen
        self._heard: dict[Hashable, float] = {}  # source -> wall time of its last record

    def observe(self, source: Hashable, event_time: float) -> None:
        if event_time > self._latest.get(source, NOTHING_DUE):
            self._latest[source] = event_time
        self._heard[source] = self.wall()

    def now(self) -> float:
        if not self._latest:
            return NOTHING_DUE
        cutoff = self.wall() - self.idle_after
        busy = [latest for source, latest in self._latest.items() if self._heard[source] > cutoff]
        return min(busy) if busy else max(self._latest.values())


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
