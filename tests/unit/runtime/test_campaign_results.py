"""The report's time range: record timestamps from --since (inclusive) to --until (exclusive)."""

from __future__ import annotations

from streams.runtime.campaign_results import TimeRange


def test_a_time_range_holds_its_start_but_not_its_end():
    period = TimeRange(since=100.0, until=200.0)
    assert [period.holds(ms) for ms in (99_999, 100_000, 199_999, 200_000)] == [False, True, True, False]
    assert TimeRange().holds(0) and TimeRange(until=1.0).holds(999) and not TimeRange(since=1.0).holds(999)
