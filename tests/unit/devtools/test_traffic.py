"""The generated shop traffic is valid, time-ordered, reproducible and varied."""

import gzip
from collections import Counter
from datetime import datetime, timedelta, timezone

import msgspec
import pytest
from click.testing import CliRunner

from streams.backtest.run import run_backtest
from streams.cli import main
from streams.model.codec import decode_line
from streams.model.events import EmailEngagement, Login, Profile, Purchase
from streams.policy.loading import default_policy_path, load_policy
from streams.devtools.traffic import demo_history, generate_history, write_jsonl


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


def test_exact_count_adds_customers_until_that_many_have_events():
    plain = generate_history(1000, 365, seed=7)
    exact = generate_history(1000, 365, seed=7, exact_count=True)
    seen = {event.customer_id for event in plain}
    assert len(seen) < 1000  # some simulated customers have no event in the period
    assert len({event.customer_id for event in exact}) == 1000
    assert [event for event in exact if event.customer_id in seen] == plain  # the same history, plus customers
    with pytest.raises(ValueError, match="days >= 1"):
        generate_history(10, 0, exact_count=True)


def test_the_cli_writes_as_many_customers_as_asked(tmp_path):
    path = tmp_path / "log.jsonl"
    result = CliRunner().invoke(main, ["traffic", "generate", str(path), "--customers", "1000"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"events for 1000 customers to {path}\n")
    assert len({decode_line(line).customer_id for line in path.read_bytes().splitlines()}) == 1000


@pytest.mark.parametrize("customers", [0, 500])
def test_the_demo_history_shows_every_stage_a_conversion_and_a_skip_in_its_first_year(customers):
    """Whatever the crowd, the cast alone reaches each of them by day 366 (sunset's threshold)."""
    events = demo_history(customers, 400)
    assert [event.occurred_at for event in events] == sorted(event.occurred_at for event in events)
    assert len({event.customer_id for event in events if not event.customer_id.startswith("cast-")}) == customers
    encoder = msgspec.json.Encoder()
    day_366 = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(days=366)
    report = run_backtest(
        [encoder.encode(event) for event in events], load_policy(default_policy_path().with_name("policy.full.yaml")),
        until=day_366.timestamp(),
    )
    assert all(report.triggers[stage] > 0 for stage in ("reactivation", "winback", "sunset")), report.triggers
    assert sum(group.conversions for group in report.groups.values()) > 0
    assert report.skips["no_channel"] > 0


def test_a_file_it_cannot_write_is_one_line(tmp_path):
    path = tmp_path / "missing" / "log.jsonl"

    result = CliRunner().invoke(main, ["traffic", "generate", str(path)])

    assert (result.exit_code, result.stderr) == (1, f"winback: cannot write {path}: No such file or directory\n")  # was a traceback


def test_a_write_that_fails_half_way_leaves_no_shorter_history(tmp_path, monkeypatch):
    def fills_the_disk(*_args, **_kwargs):
        yield from generate_history(10, 30, seed=1)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("streams.devtools.traffic.generate_history", fills_the_disk)
    path = tmp_path / "log.jsonl"

    result = CliRunner().invoke(main, ["traffic", "generate", str(path)])

    assert (result.exit_code, result.stderr) == (1, f"winback: cannot write {path}: No space left on device\n")
    assert not path.exists()


def test_a_file_it_cannot_open_is_left_as_it_was(tmp_path, monkeypatch):
    """Only a file this run began is removed: one it could not open (read-only, say) is the user's."""
    path = tmp_path / "history.jsonl"
    path.write_text("the user's own history\n")

    def refused(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("streams.devtools.traffic._open_for_writing", refused)
    result = CliRunner().invoke(main, ["traffic", "generate", str(path)])

    assert (result.exit_code, result.stderr) == (1, f"winback: cannot write {path}: Permission denied\n")
    assert path.read_text() == "the user's own history\n"
