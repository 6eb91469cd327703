"""Clocks: wall, fixed and the event-time watermark with idle partitions."""

import pytest

from streams.clock import NOTHING_DUE, EventTimeClock, FixedClock, WallClock, parse_clock


class FakeWall:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_event_clock_is_the_slowest_busy_partition():
    wall = FakeWall()
    clock = EventTimeClock(idle_after=5, wall=wall)
    assert clock.now() == NOTHING_DUE
    clock.observe("p0", 100.0)
    clock.observe("p1", 50.0)
    clock.observe("p1", 40.0)  # out of order: the watermark never goes back
    assert clock.now() == 50.0


def test_idle_partitions_stop_holding_time_back():
    wall = FakeWall()
    clock = EventTimeClock(idle_after=5, wall=wall)
    clock.observe("p0", 100.0)
    clock.observe("p1", 50.0)
    wall.t = 3.0
    clock.observe("p0", 120.0)
    wall.t = 6.0  # p1 silent for 6 s, p0 for 3 s
    assert clock.now() == 120.0
    wall.t = 20.0  # everything idle: the replay is over, time is the latest event
    assert clock.now() == 120.0


def test_parse_clock():
    assert isinstance(parse_clock("wall"), WallClock)
    assert isinstance(parse_clock("event"), EventTimeClock)
    fixed = parse_clock("fixed:2024-06-01T00:00:00+00:00")
    assert isinstance(fixed, FixedClock) and fixed.now() == 1717200000.0
    with pytest.raises(ValueError, match="UTC offset"):
        parse_clock("fixed:2024-06-01T00:00:00")
    with pytest.raises(ValueError, match="unknown clock"):
        parse_clock("lunar")
