"""The generated shop traffic is valid, time-ordered, reproducible and varied."""

import gzip
from collections import Counter

from datetime import datetime, timedelta, timezone

import msgspec
import pytest

from streams.backtest import run_backtest
from streams.codec import decode_line
from streams.events import EmailEngagement, Login, Profile, Purchase
from streams.policy import default_policy_path, load_policy
from streams.traffic import demo_history, generate_history, write_jsonl


def test_history_is_time_ordered_and_reproducible():
    events = generate_history(200, 120, seed=3)
    times = [event.occurred_at for event in events]
    assert times == sorted(times)
    assert events == generate_history(200, 120, seed=3)
    assert events != generate_history(200, 120, seed=4)


def test_history_has_every_kind_of_event_and_unique_ids():
    events = generate_history(500, 365, seed=1)
    kinds = Counter(type(event) for event in events)
    assert kinds[Purchase] and kinds[Login] and kinds[EmailEngagement] and kinds[Profile]
    assert 0.6 < kinds[Profile] / len({event.customer_id for event in events}) < 0.8
    assert len({event.event_id for event in events}) == len(events)
    assert {"open", "click", "delivered"} <= {e.action for e in events if isinstance(e, EmailEngagement)}


def test_written_lines_decode_back_to_the_same_events(tmp_path):
    events = generate_history(50, 60, seed=2)
    path = tmp_path / "log.jsonl.gz"
    assert write_jsonl(events, path) == len(events)
    with gzip.open(path, "rb") as lines:
        assert [decode_line(line) for line in lines] == events


@pytest.mark.parametrize("customers", [0, 500])
def test_the_demo_history_shows_every_stage_a_conversion_and_a_skip_in_its_first_year(customers):
    """Whatever the crowd, the cast alone reaches each of them by day 366 (sunset's threshold)."""
    events = demo_history(customers, 400)
    assert [event.occurred_at for event in events] == sorted(event.occurred_at for event in events)
    encoder = msgspec.json.Encoder()
    day_366 = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(days=366)
    report = run_backtest(
        [encoder.encode(event) for event in events], load_policy(default_policy_path().with_name("policy.full.yaml")),
        until=day_366.timestamp(),
    )
    assert all(report.triggers[stage] > 0 for stage in ("reactivation", "winback", "sunset")), report.triggers
    assert sum(group.conversions for group in report.groups.values()) > 0
    assert report.skips["no_channel"] > 0
