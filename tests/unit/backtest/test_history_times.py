"""A purchase log from the 1990s backtests like the same log 28 years later: no line rejected,
the same counts (28 years: the same calendar, weekdays included, and a whole number of days)."""

import json
from datetime import datetime, timezone

from click.testing import CliRunner

from streams.backtest.run import run_backtest
from streams.cli import main
from streams.devtools.traffic import generate_history, write_jsonl
from streams.model.events import encode_event
from streams.policy.loading import default_policy_path, load_policy

NINETIES = datetime(1995, 1, 1, tzinfo=timezone.utc)
SHIFTED = datetime(2023, 1, 1, tzinfo=timezone.utc)  # + 10,227 days


def test_a_1990s_log_reports_what_the_same_log_28_years_later_does():
    policy = load_policy(default_policy_path())
    reports = {}
    for start in (NINETIES, SHIFTED):
        lines = [encode_event(event) for event in generate_history(300, 730, seed=5, start=start)]
        reports[start.year] = run_backtest(lines, policy).as_dict()
    nineties, later = reports[1995], reports[2023]
    assert nineties["rejected"] == 0 and nineties["until"].startswith("1996-")
    assert sum(nineties["triggers"].values()) > 100 and sum(nineties["commands"].values()) > 100
    assert {key: value for key, value in nineties.items() if key != "until"} == {
        key: value for key, value in later.items() if key != "until"
    }


def test_winback_backtest_reads_a_1990s_file(tmp_path):
    log = tmp_path / "nineties.jsonl"
    write_jsonl(generate_history(50, 400, seed=8, start=NINETIES), log)
    result = CliRunner().invoke(main, ["backtest", str(log), "--format", "json"])
    report = json.loads(result.output)
    assert result.exit_code == 0 and report["rejected"] == 0 and report["until"].startswith("1996-")
    assert sum(report["triggers"].values()) > 0
