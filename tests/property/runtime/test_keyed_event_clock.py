"""The event clock on keyed input (``KeyedEventClock``): whatever order a worker reads its input
partitions in, whenever it settles, and whichever customer partitions it owns as they move,
a customer partition's "now" never passes an event of its input partitions not read yet, a
partition read to its end and quiet has passed every event it holds, and once everything is
read and quiet every owned partition's time has reached the latest event the worker read."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.runtime.clock import KeyedEventClock
from tests.support.wall import SetWall

TOPICS = ["purchases", "logins", "profiles"]
PARTITIONS = range(4)
IDLE_AFTER = 5.0
Source = tuple[str, int]


@st.composite
def logs(draw: st.DrawFn) -> dict[Source, list[float]]:
    """Each input partition's event times, in time order (ties allowed)."""
    return {
        (topic, partition): sorted(draw(st.lists(st.integers(0, 40).map(float), max_size=5)))
        for topic in TOPICS
        for partition in PARTITIONS
    }


owned_sets = st.sets(st.sampled_from(list(PARTITIONS)), min_size=1)


@settings(max_examples=60, deadline=None)
@given(logs(), owned_sets, st.data())
def test_now_never_passes_an_unread_event_and_reaches_every_read_one(log: dict[Source, list[float]], owned: set[int], data):
    wall = SetWall()
    clock = KeyedEventClock(idle_after=IDLE_AFTER, wall=wall)
    clock.own(TOPICS, owned)
    read = {source: 0 for source in log}  # events read so far, per input partition
    heard = {(topic, partition): wall.t for topic in TOPICS for partition in owned}  # last read, or since owned

    def caught_up(source) -> bool:
        return read[source] == len(log[source])

    def check() -> None:
        clock.settle(caught_up)
        for partition in owned:
            sources = [(topic, partition) for topic in TOPICS]
            unread = [at for source in sources for at in log[source][read[source]:]]
            assert all(clock.now(partition) < at for at in unread), (partition, clock.now(partition), unread)
            quiet = all(heard[source] <= wall.t - IDLE_AFTER for source in sources)
            if not unread and quiet:  # read to its end and quiet: every event it holds may be applied
                assert all(clock.now(partition) >= at for source in sources for at in log[source])

    for _ in range(data.draw(st.integers(0, 40), label="steps")):
        step = data.draw(st.sampled_from(["read", "read", "read", "wait", "settle", "rebalance"]), label="step")
        if step == "read":
            readable = [source for source in log if source[1] in owned and not caught_up(source)]
            if readable:
                source = data.draw(st.sampled_from(readable), label="source")
                clock.observe(*source, log[source][read[source]])
                read[source] += 1
                heard[source] = wall.t
        elif step == "wait":
            wall.t += data.draw(st.sampled_from([1.0, IDLE_AFTER]), label="wait")
        elif step == "rebalance":  # every partition owned is read again (from the start: nothing committed)
            owned = data.draw(owned_sets, label="owned")
            for source in log:
                if source[1] in owned:
                    read[source], heard[source] = 0, wall.t
            clock.own(TOPICS, owned)
        check()
    for source in log:  # the rest of the log, then a quiet spell: the replay is over
        if source[1] in owned:
            for at in log[source][read[source]:]:
                clock.observe(*source, at)
            read[source] = len(log[source])
    wall.t += IDLE_AFTER + 1
    clock.settle(caught_up)
    everything = [at for source, times in log.items() if source[1] in owned for at in times]
    if everything:
        assert all(clock.now(partition) >= max(everything) for partition in owned)
