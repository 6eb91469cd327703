"""DuckDB's stage-entry counts (``streams.backtest.stage_sql``) equal the backtest's triggers."""

import pytest

from streams.backtest.run import backtest_file
from streams.backtest.stage_sql import UnsupportedPolicy, stage_entries
from streams.devtools.traffic import generate_history, sparse_history
from streams.policy.loading import default_policy_path, load_policy

from tests.support.backtest_golden import POLICIES
from tests.support.builders import email, line, login, policy, profile, purchase
from tests.support.policies import SMALL

EXAMPLE = load_policy(default_policy_path())


@pytest.mark.parametrize("history", [sparse_history(400), generate_history(80, 365)], ids=["sparse", "dense"])
def test_sql_counts_equal_the_backtest_s_on_generated_logs(tmp_path, history):
    path = tmp_path / "events.jsonl"
    lines = [line(event) for event in history]
    path.write_bytes(b"\n".join(lines + lines[::7]) + b"\n")  # every 7th line redelivered
    triggers = dict(backtest_file(path, EXAMPLE).triggers)
    assert triggers["reactivation"] > 0 and triggers["winback"] > 0
    assert stage_entries(path, EXAMPLE) == triggers


def test_sql_follows_the_engine_at_the_edges(tmp_path):
    """A gap of exactly the threshold between activities keeps the customer active; after the
    last activity, a stage due exactly at the log's end is entered.  Opens, deliveries and
    profiles are no activity under SMALL (5, 15 and 40 days), but a profile can be the end."""
    events = [
        purchase(0, "edge"), login(5, "edge"),  # exactly 5 days: no reactivation before the login
        purchase(0, "late"), email(3, "open", "late"), email(4, "delivered", "late"),  # reactivation at day 5
        purchase(10, "ends"), profile(25, "other"),  # the end is day 25: "ends" enters winback at it
    ]  # fmt: skip  (each of the three lapses after their last activity: edge's after day 5)
    path = tmp_path / "edges.jsonl"
    path.write_bytes(b"\n".join(map(line, events)) + b"\n")
    small = policy(SMALL)
    expected = dict(backtest_file(path, small).triggers)
    assert expected == {"reactivation": 3, "winback": 3, "sunset": 0}
    assert stage_entries(path, small) == expected


def test_adaptive_thresholds_are_refused():
    with pytest.raises(UnsupportedPolicy, match="adaptive"):
        stage_entries(default_policy_path(), load_policy(POLICIES["full"]))
