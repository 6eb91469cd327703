"""The event clock across the repartitioning hop: whichever workers read which input
partitions, in whatever order their markers arrive, "now" never passes an event that has not
been forwarded yet, and once every input is read and idle it reaches the latest event."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.runtime.clock import NOTHING_DUE, EventTimeClock, Progress
from streams.runtime.watermarks import MARKER_DECODER, Marker, Reading

Source = tuple[str, int]
SOURCES: list[Source] = [("purchases", partition) for partition in range(8)] + [("logins", 0), ("logins", 1)]


@st.composite
def replays(draw: st.DrawFn) -> tuple[dict[Source, list[float]], list[tuple[int, Source]]]:
    """Each input partition's event times (in time order), and the order in which the workers
    read them: a sequence of (worker, partition) reads of one event each."""
    times = {source: sorted(draw(st.lists(st.integers(0, 50).map(float), max_size=6))) for source in SOURCES}
    owner = {source: draw(st.integers(0, 2)) for source in SOURCES}  # 3 workers; a partition may move
    reads = [(owner[source], source) for source, events in times.items() for _ in events]
    return times, draw(st.permutations(reads))


@settings(max_examples=80, deadline=None)
@given(replays(), st.data())
def test_now_never_passes_an_event_not_yet_forwarded(replay, data: st.DataObject):
    times, reads = replay
    clock = EventTimeClock()
    inputs = {"purchases": 8, "logins": 2}
    forwarded: dict[Source, int] = {}  # events forwarded so far, per input partition
    latest: dict[int, dict[Source, float]] = {}  # what each worker has read
    for worker, source in reads:
        forwarded[source] = forwarded.get(source, 0) + 1
        latest.setdefault(worker, {})[source] = times[source][forwarded[source] - 1]
        if data.draw(st.booleans(), label="marker now"):  # the worker's marker, through the codec
            readings = [Reading(topic, partition, at, False) for (topic, partition), at in latest[worker].items()]
            marker = MARKER_DECODER.decode(msgspec.json.encode(Marker(inputs, readings)))
            clock.observe_marker(0, marker.expected(), marker.progress())
        unread = [at for source, events in times.items() for at in events[forwarded.get(source, 0):]]
        assert all(clock.now(0) < at for at in unread)
    ends = [Progress(source, events[-1] if events else NOTHING_DUE, True) for source, events in times.items()]
    clock.observe_marker(0, [], ends)  # everything read, every partition idle
    everything = [at for events in times.values() for at in events]
    assert clock.now(0) >= max(everything, default=NOTHING_DUE)
