"""The public testing helpers: events built from plain values, and the engine run over them."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from streams.backtest.run import run_backtest
from streams.devtools import testing
from streams.model.codec import decode_line
from streams.model.events import Purchase

POLICY = testing.policy_from_yaml(
    """
stages: {reactivation: 30, winback: 90}
campaigns:
  reactivation:
    steps: [{after_days: 0, channel: email, template: we-miss-you}, {after_days: 7, channel: sms, template: reminder}]
"""
)


def test_the_docstring_example_runs():
    run = testing.run_engine(POLICY, [testing.purchase("c1", "2024-01-01T12:00:00Z", amount=40.0)], until="2024-03-01T00:00:00Z")
    assert [trigger.stage for trigger in run.triggers()] == ["reactivation"]
    assert [(command.step, command.channel) for command in run.commands()] == [(0, "email"), (1, "sms")]
    assert run.states["c1"].stage == 1 and not run.skips() and not run.outcomes()


@pytest.mark.parametrize("moment", ["2024-05-01T10:00:00+02:00", datetime(2024, 5, 1, 8, tzinfo=timezone.utc), 1714550400.0])
def test_a_time_is_a_string_a_datetime_or_epoch_seconds(moment):
    assert testing.purchase("c1", moment).occurred_at.timestamp() == 1714550400.0


def test_a_time_without_offset_is_refused_like_the_codec_refuses_it():
    with pytest.raises(ValueError, match="no UTC offset"):
        testing.login("c1", "2024-05-01T10:00:00")


def test_event_lines_are_valid_backtest_lines_and_decide_like_the_engine():
    events = [
        testing.profile("c1", "2024-01-01T00:00:00Z", consent=["email"], time_zone="Europe/Berlin"),
        testing.purchase("c1", "2024-01-01T12:00:00Z", categories=["shoes"]),
        testing.email("c1", "2024-01-02T12:00:00Z", "open"),
        testing.login("c2", "2024-01-03T12:00:00Z", platform="ios"),
    ]
    lines = testing.event_lines(events)
    assert [decode_line(line) for line in lines] == events
    collected: list[tuple[str, object]] = []
    run_backtest(lines, POLICY, until=testing.at("2024-06-01T00:00:00Z").timestamp(), on_record=lambda *pair: collected.append(pair))
    run = testing.run_engine(POLICY, events, until="2024-06-01T00:00:00Z")
    assert sorted(map(repr, collected)) == sorted(map(repr, run.records))


def test_default_ids_are_unique_per_customer_and_time():
    first, again, later = (testing.purchase("c1", moment) for moment in ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"))
    assert isinstance(first, Purchase) and first.event_id == again.event_id != later.event_id
    assert first.order_id != later.order_id
