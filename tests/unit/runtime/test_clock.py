"""Clocks: wall, fixed, watermarks with idle sources, and the marker-driven event clock."""

import math

import pytest

from streams.runtime.clock import (
    NOTHING_DUE,
    EventTimeClock,
    FixedClock,
    KeyedEventClock,
    Progress,
    WallClock,
    Watermark,
    parse_clock,
)
from tests.support.wall import SetWall


def just_before(value: float) -> float:
    return math.nextafter(value, -math.inf)


def test_watermark_is_the_slowest_busy_source():
    watermark = Watermark(idle_after=5, wall=SetWall())
    assert watermark.minimum() == NOTHING_DUE
    watermark.observe("p0", 100.0)
    watermark.observe("p1", 50.0)
    watermark.observe("p1", 40.0)  # out of order: a watermark never goes back
    assert watermark.minimum() == 50.0


def test_idle_sources_stop_holding_time_back():
    wall = SetWall()
    watermark = Watermark(idle_after=5, wall=wall)
    watermark.observe("p0", 100.0)
    watermark.observe("p1", 50.0)
    wall.t = 3.0
    watermark.observe("p0", 120.0)
    wall.t = 6.0  # p1 silent for 6 s, p0 for 3 s
    assert watermark.minimum() == 120.0
    wall.t = 20.0  # everything idle: the replay is over, every event up to the latest is in
    assert watermark.minimum() == math.nextafter(120.0, math.inf)


def test_event_clock_is_the_smallest_input_partition_over_every_workers_markers():
    clock = EventTimeClock()
    assert clock.now() == NOTHING_DUE
    inputs = [("purchases", 0), ("purchases", 1), ("logins", 0)]
    clock.observe_marker(0, inputs, [Progress(("purchases", 0), 100.0, False), Progress(("logins", 0), 90.0, False)])
    assert clock.now(0) == NOTHING_DUE  # purchases 1 is read by a worker not heard from yet: it holds time back
    clock.observe_marker(0, inputs, [Progress(("purchases", 1), 60.0, False)])
    assert clock.now(0) == just_before(60.0)  # events at exactly 60 may still come
    clock.observe_marker(0, inputs, [Progress(("purchases", 1), 120.0, False)])
    assert clock.now(0) == just_before(90.0)


def test_idle_input_partitions_stop_holding_event_time_back():
    clock = EventTimeClock()
    inputs = [("purchases", 0), ("purchases", 1)]
    clock.observe_marker(3, inputs, [Progress(("purchases", 0), 100.0, False), Progress(("purchases", 1), 50.0, True)])
    assert clock.now(3) == just_before(100.0)
    clock.observe_marker(3, inputs, [Progress(("purchases", 0), 100.0, True)])
    assert clock.now(3) == 100.0  # all idle: every event up to the latest is in
    clock.observe_marker(3, inputs, [Progress(("purchases", 1), 70.0, False)])  # busy again: its reader said so last
    assert clock.now(3) == just_before(70.0)


def test_an_input_partitions_time_never_goes_back():
    """A partition that moved to another worker is re-read from its committed offset: the new
    reader's first markers report less than the old one's did, for events already covered."""
    clock = EventTimeClock()
    clock.observe_marker(0, [("p", 0)], [Progress(("p", 0), 100.0, False)])
    clock.observe_marker(0, [("p", 0)], [Progress(("p", 0), 40.0, False)])
    assert clock.now(0) == just_before(100.0)


def test_parse_clock():
    assert isinstance(parse_clock("wall"), WallClock)
    assert isinstance(parse_clock("event"), EventTimeClock)
    fixed = parse_clock("fixed:2024-06-01T00:00:00+00:00")
    assert isinstance(fixed, FixedClock) and fixed.now() == 1717200000.0
    with pytest.raises(ValueError, match="UTC offset"):
        parse_clock("fixed:2024-06-01T00:00:00")
    with pytest.raises(ValueError, match="unknown clock"):
        parse_clock("lunar")


def test_an_expected_source_holds_time_back_until_it_reports_or_idles():
    wall = SetWall()
    watermark = Watermark(idle_after=5, wall=wall)
    watermark.expect("emails")
    watermark.observe("purchases", 100.0)
    assert watermark.minimum() == NOTHING_DUE
    watermark.observe("emails", 90.0)
    assert watermark.minimum() == 90.0
    watermark.expect("emails")  # already known: no reset
    assert watermark.minimum() == 90.0


def test_event_clock_answers_per_partition():
    clock = EventTimeClock()
    clock.observe_marker(0, [("p", 0)], [Progress(("p", 0), 100.0, False)])
    assert clock.now(0) == just_before(100.0) and clock.now(1) == NOTHING_DUE


def test_a_watermark_reports_each_source_and_forgets_those_read_elsewhere_now():
    wall = SetWall()
    watermark = Watermark(idle_after=5, wall=wall)
    watermark.expect("a")
    watermark.observe("b", 10.0)
    wall.t = 6.0
    assert list(watermark.progress(may_idle=lambda source: source == "b")) == [
        Progress("a", NOTHING_DUE, False), Progress("b", 10.0, True)
    ]
    watermark.keep_only({"a"})
    assert [progress.source for progress in watermark.progress()] == ["a"]
    watermark.expect("b")  # back again: expected anew, holding time back
    assert watermark.minimum() == NOTHING_DUE


def test_a_silent_source_that_is_not_caught_up_keeps_holding_time_back():
    wall = SetWall()
    watermark = Watermark(idle_after=5, wall=wall)
    watermark.observe("lagging", 50.0)
    watermark.observe("fast", 100.0)
    wall.t = 10.0
    assert watermark.minimum(may_idle=lambda source: source != "lagging") == 50.0
    assert watermark.minimum() == math.nextafter(100.0, math.inf)


def keyed_clock(wall: SetWall, partitions: set[int]) -> KeyedEventClock:
    clock = KeyedEventClock(idle_after=5, wall=wall)
    clock.own(["purchases", "logins"], partitions)
    return clock


def test_a_keyed_partition_waits_only_for_its_own_input_partitions():
    wall = SetWall()
    clock = keyed_clock(wall, {0, 1})
    clock.settle()
    assert clock.now(0) == clock.now(1) == NOTHING_DUE  # each input partition holds time back until it reports
    clock.observe("purchases", 0, 100.0)
    clock.observe("logins", 0, 80.0)
    clock.observe("purchases", 1, 30.0)
    clock.settle()
    assert clock.now(0) == just_before(80.0)  # not held back by partition 1's 30 (nor its logins, unread)
    assert clock.now(1) == NOTHING_DUE
    assert clock.now() == NOTHING_DUE  # asked without a partition: the earliest


def test_an_idle_keyed_partition_follows_the_workers_time_but_never_falls_back_before_its_own_end():
    wall = SetWall()
    clock = keyed_clock(wall, {0, 1})
    clock.observe("purchases", 0, 100.0)
    clock.observe("logins", 0, 100.0)
    wall.t = 6.0
    clock.observe("purchases", 1, 300.0)
    clock.observe("logins", 1, 200.0)
    clock.settle(may_idle=lambda source: source[1] == 0)  # partition 1 is still being read
    assert clock.now(0) == just_before(200.0)  # partition 0 is done: it moves on with the worker's time
    assert clock.now(1) == just_before(200.0)
    clock.settle(may_idle=lambda source: source == ("purchases", 0))  # partition 0's logins not caught up yet
    assert clock.now(0) == just_before(100.0)
    clock.observe("logins", 0, 250.0)
    wall.t = 20.0
    clock.observe("logins", 1, 210.0)
    clock.settle(may_idle=lambda source: source[1] == 0)
    assert clock.now(0) == 250.0  # idle at 250, ahead of the worker's 210: not back to it
    wall.t = 30.0
    clock.settle()  # everything read and quiet: every partition is at the latest event the worker read
    assert clock.now(0) == clock.now(1) == 300.0


def test_after_a_rebalance_every_keyed_partition_owned_holds_time_back_until_it_reports_anew():
    wall = SetWall()
    clock = keyed_clock(wall, {0, 1})
    for source in [("purchases", 0), ("logins", 0), ("purchases", 1), ("logins", 1)]:
        clock.observe(*source, 100.0)
    clock.settle()
    assert clock.now(0) == clock.now(1) == just_before(100.0)
    clock.own(["purchases", "logins"], {1, 2})  # a rebalance: partition 1 kept, 2 new, 0 gone
    clock.settle()
    assert clock.now(0) == clock.now(1) == clock.now(2) == NOTHING_DUE  # read again from the committed offsets
    clock.observe("purchases", 1, 50.0)
    clock.settle()
    assert clock.now(1) == NOTHING_DUE  # its logins have not reported anew yet
    clock.observe("logins", 1, 60.0)
    clock.settle()
    assert clock.now(1) == just_before(50.0)
