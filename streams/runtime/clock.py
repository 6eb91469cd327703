"""What "now" means to the scheduler.

- ``wall``: the machine's clock.  Production: inactivity is the absence of events, so only
  real time can tell that a quiet customer has lapsed, even when no events arrive at all.
- ``event``: event time, for replaying history through Kafka.  "Now" is a watermark: no event
  still to be applied is older than it, so a transition never fires before an event that
  would have prevented it.  It must survive the repartitioning hop, where every input
  partition feeds every internal partition: each worker reports, in marker records sent into
  every partition of the internal events topic *after* the events they cover, how far each
  of its input partitions has been read (``Watermark``), and an internal partition's time
  (``EventTimeClock``) is the minimum over *all* input partitions of all input topics, whoever
  reads them - a partition not reported yet holds time back, so a worker that starts late, or
  a partition that moves to another worker, is never overtaken.  The worker reading a
  partition declares it idle once it is caught up and silent for ``idle_after`` wall seconds
  (otherwise one quiet partition would stall time for everyone, like Kafka Streams'
  STREAM_TIME); when all are idle, time is the latest event seen.  Input must be in time
  order per partition, as a replay is.  With input keyed by customer there is no hop: a
  customer partition's time comes from the input partitions of its own number, which its
  worker reads itself (``KeyedEventClock``, driven by ``streams.runtime.keyed_event_time``).
- ``fixed:<RFC 3339>``: a frozen instant, for tests that need exact, repeatable results.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import AbstractSet, Callable, Hashable, Iterable, Iterator, NamedTuple, Protocol

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
    exactly its latest time).  A source silent for ``idle_after`` wall seconds is idle, and
    ignored; when all are, everything up to *and including* the latest time has been seen.
    Ingest keeps one over the input partitions it reads, and reports each one's progress.
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

    def keep_only(self, sources: AbstractSet[Hashable]) -> None:
        """Forget the other sources (partitions read elsewhere now: if they come back, they are expected anew)."""
        for source in set(self._latest) - sources:
            del self._latest[source], self._heard[source]

    def progress(self, may_idle: Callable[[Hashable], bool] = lambda source: True) -> Iterator[Progress]:
        """Each source's latest time and whether it is idle: silent for ``idle_after`` and
        ``may_idle(source)`` (e.g. it is caught up)."""
        cutoff = self.wall() - self.idle_after
        for source, latest in self._latest.items():
            yield Progress(source, latest, self._heard[source] <= cutoff and may_idle(source))

    def minimum(self, may_idle: Callable[[Hashable], bool] = lambda source: True) -> float:
        """The watermark; a silent source is ignored only if ``may_idle(source)``."""
        return lowest(self.progress(may_idle))


class Progress(NamedTuple):
    """How far one source of events has been read."""

    source: Hashable
    latest: float  # the latest event time seen (NOTHING_DUE: none yet)
    idle: bool  # caught up and quiet: it holds time back no longer


def lowest(progress: Iterable[Progress]) -> float:
    """The watermark over sources: the smallest latest time of a busy source; when all are
    idle, just after the latest time of any (NOTHING_DUE: no source)."""
    sources = list(progress)
    busy = [source.latest for source in sources if not source.idle]
    if busy:
        return min(busy)
    return math.nextafter(max(source.latest for source in sources), math.inf) if sources else NOTHING_DUE


class EventTimeClock:
    """Event time where events are applied, per internal partition.

    A partition's watermark is the minimum over every input partition that feeds it, as the
    markers read from it last reported each; an input partition it expects but no marker has
    reported yet holds it back.  "Now" is the instant just before the watermark: every event
    at or before now has arrived, so the partition's held events up to now can be applied and
    its customers due by now can be acted on.  Asked without a partition, it is the earliest
    over all partitions.
    """

    def __init__(self) -> None:
        self._inputs: dict[int, dict[Hashable, Progress]] = {}  # internal partition -> input partition -> progress
        self._now: dict[int, float] = {}  # internal partition -> its now, kept as markers arrive

    def observe_marker(self, partition: int, expected: Iterable[Hashable], reported: Iterable[Progress]) -> None:
        """A marker read from ``partition``: the input partitions that exist, and how far some are read.

        A partition's latest time never goes back (a partition re-read from its committed
        offset after a move re-sends events already covered); whether it is idle is what its
        reader said last.
        """
        inputs = self._inputs.setdefault(partition, {})
        for source in expected:
            inputs.setdefault(source, Progress(source, NOTHING_DUE, False))
        for progress in reported:
            known = inputs.get(progress.source)
            latest = max(progress.latest, known.latest) if known is not None else progress.latest
            inputs[progress.source] = Progress(progress.source, latest, progress.idle)
        self._now[partition] = _just_before(lowest(inputs.values()))

    def read_again(self) -> None:
        """After a rebalance: every internal partition is read again from its committed offset,
        markers too, so each partition forgets what markers said and holds time back until
        they report anew.  Read again over what later markers said, an old marker's "idle"
        would stand beside newer times it never saw, and move time past them."""
        self._inputs = {}
        self._now = {}

    def now(self, partition: int | None = None) -> float:
        if partition is not None:
            return self._now.get(partition, NOTHING_DUE)
        return min(self._now.values(), default=NOTHING_DUE)


class KeyedEventClock:
    """Event time where input keyed by customer is read, per customer partition (``WINBACK_INPUT_KEYED``).

    Keyed input needs no markers: a customer partition's events come only from the input
    partitions of the same number, which the worker owning it reads itself.  So a partition
    whose input is still busy has, as its watermark, the smallest latest time of its busy
    input partitions, whatever the other partitions hold.  A partition whose inputs are all
    idle follows the worker's time (the watermark over every input partition it owns, as the
    repartitioned clock's over all) and never falls back before its own latest event: its
    customers' time goes on with everyone else's, as on the repartitioned path, instead of
    stopping at its own last event.  Each worker's time is over the partitions it owns.
    ``settle`` recomputes "now" (the runtime calls it once a batch and on a timer); ``now``
    only reads it, so the records of a batch cost no more than a lookup each.
    """

    def __init__(self, idle_after: float = 5.0, wall: Wall = time.monotonic):
        self.input = Watermark(idle_after, wall)  # over input partitions, (topic, partition)
        self._now: dict[int, float] = {}  # customer partition -> its now, as the last settle left it

    def own(self, topics: Iterable[str], partitions: AbstractSet[int]) -> None:
        """After a rebalance: this worker owns exactly these customer partitions and reads each
        of their input partitions again from its committed offset (a rebalance seeks every
        partition there, kept ones too), so each holds time back until it reports anew."""
        self.input.keep_only(set())
        for topic in topics:
            for partition in partitions:
                self.input.expect((topic, partition))
        self._now = {}

    def observe(self, topic: str, partition: int, event_time: float) -> None:
        """An event of ``topic``'s ``partition`` was read, dated ``event_time``."""
        self.input.observe((topic, partition), event_time)

    def settle(self, may_idle: Callable[[Hashable], bool] = lambda source: True) -> None:
        """Recompute every owned partition's now; an input partition silent for ``idle_after``
        counts as idle only if ``may_idle((topic, partition))`` (e.g. it is caught up)."""
        progress = list(self.input.progress(may_idle))
        everyone = lowest(progress)
        partitions: dict[int, list[Progress]] = {}
        for reading in progress:
            partitions.setdefault(reading.source[1], []).append(reading)  # type: ignore[index]
        for partition, readings in partitions.items():
            watermark = lowest(readings)
            if all(reading.idle for reading in readings):
                watermark = max(watermark, everyone)
            self._now[partition] = _just_before(watermark)

    def now(self, partition: int | None = None) -> float:
        if partition is not None:
            return self._now.get(partition, NOTHING_DUE)
        return min(self._now.values(), default=NOTHING_DUE)


def _just_before(watermark: float) -> float:
    return math.nextafter(watermark, -math.inf)


def parse_clock(spec: str) -> Clock:
    """Build a clock from its setting: ``wall``, ``event`` or ``fixed:<RFC 3339 time>``."""
    if spec == "wall":
        return WallClock()
    if spec == "event":
        return EventTimeClock()
    if spec.startswith("fixed:"):
        moment = datetime.fromisoformat(spec.removeprefix("fixed:"))
        if moment.tzinfo is None:
            raise ValueError(f"fixed clock time needs a UTC offset: {spec!r}")
        return FixedClock(moment.timestamp())
    raise ValueError(f"unknown clock {spec!r}: use wall, event or fixed:<RFC 3339 time>")
