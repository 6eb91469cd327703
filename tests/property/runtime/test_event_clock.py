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


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_markers_read_again_after_a_rebalance_never_put_time_ahead_of_their_first_reading(data: st.DataObject):
    """A rebalance sends a kept partition back to its committed offset, and every marker since
    comes again; the clock forgets what they said (``read_again``, as the customers agent does).
    Each marker read again leaves "now" no later than its first reading did, so nothing is
    released or fired sooner than then (whatever the readings: a moved partition's new reader
    may report less)."""
    sources = SOURCES[:2]
    progress = st.builds(Progress, st.sampled_from(sources), st.integers(0, 6).map(float), st.booleans())
    markers = data.draw(st.lists(st.lists(progress, min_size=1, max_size=3), min_size=1, max_size=12), label="markers")
    committed = data.draw(st.integers(0, len(markers) - 1), label="committed before marker")
    rebalanced = data.draw(st.integers(committed, len(markers)), label="rebalanced after")
    first, first_times = EventTimeClock(), []
    for marker in markers:
        first.observe_marker(0, sources, marker)
        first_times.append(first.now(0))

    clock = EventTimeClock()
    for marker in markers[:rebalanced]:
        clock.observe_marker(0, sources, marker)
    clock.read_again()
    for index in range(committed, len(markers)):
        clock.observe_marker(0, sources, markers[index])
        assert clock.now(0) <= first_times[index]
