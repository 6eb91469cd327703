"""Settings that depend on the clock: the earliest event time ingest accepts, and how the engine catches up."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from streams.runtime.settings import Settings


def test_the_wall_clock_keeps_winback_earliest_event_as_its_floor():
    assert Settings().event_floor == (datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp(), "WINBACK_EARLIEST_EVENT, the wall clock's floor")
    later = Settings(earliest_event="2010-06-01T12:00:00+02:00").event_floor[0]
    assert later == datetime(2010, 6, 1, 10, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("clock", ["event", "fixed:1995-01-01T00:00:00Z"])
def test_clocks_that_re_enact_history_accept_it_from_the_epoch_on(clock: str):
    assert Settings(clock=clock, earliest_event="2010-01-01").event_floor == (0.0, "the Unix epoch")


@pytest.mark.parametrize(("clock", "catch_up"), [("wall", "latest"), ("event", "all"), ("fixed:2024-01-01T00:00:00Z", "all")])
def test_catch_up_is_latest_only_on_the_wall_clock_unless_the_policy_says(clock: str, catch_up: str):
    assert Settings(clock=clock).catch_up_default == catch_up
