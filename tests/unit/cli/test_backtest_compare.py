"""``winback backtest --compare``: fixed thresholds against the predictive trigger on the same log."""

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from streams.backtest.run import run_backtest
from streams.cli import main
from streams.model.records import Trigger

from tests.support.builders import policy
from tests.support.churn_history import SHOP, purchase_lines, simulate

THRESHOLDS = """
stages: {reactivation: 30, winback: 60, sunset: 180}
campaigns:
  reactivation:
    steps: [{after_days: 0, channel: email, template: miss-you}]
  winback:
    holdout: 0.2
    steps: [{after_days: 0, channel: email, template: offer, offer: {percent_off: 15}}]
"""
PREDICTIVE = THRESHOLDS + "predictive: {model: {r: 1.2, alpha: 40, a: 0.8, b: 1.6}, enter_winback_below: 0.5}\n"


def _files(tmp_path):
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"\n".join(purchase_lines(simulate(SHOP, 400, seed=21), 540.0)) + b"\n")
    (tmp_path / "thresholds.yaml").write_text(THRESHOLDS)
    (tmp_path / "predictive.yaml").write_text(PREDICTIVE)
    return str(history), str(tmp_path / "thresholds.yaml"), str(tmp_path / "predictive.yaml")


def test_the_comparison_is_each_policy_backtest_side_by_side(tmp_path):
    history, thresholds, predictive = _files(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["backtest", history, "--policy", thresholds, "--compare", predictive, "--format", "json"])
    assert result.exit_code == 0, result.output
    both = json.loads(result.output)
    alone = [json.loads(runner.invoke(main, ["backtest", history, "--policy", path, "--format", "json"]).output) for path in (thresholds, predictive)]
    assert [both["baseline"]["report"], both["compared"]["report"]] == alone
    figures = {figure["figure"]: (figure["baseline"], figure["compared"]) for figure in both["comparison"]}
    assert figures["winback entries"] == (alone[0]["triggers"]["winback"], alone[1]["triggers"]["winback"])
    # The predictive trigger starts win-back for repeat buyers who went quiet before the 60 days.
    assert figures["winback entries"][1] > figures["winback entries"][0]
    winback = [report["campaigns"]["winback"] for report in alone]
    assert figures["winback: lift vs holdout"] == tuple(campaign["variants"]["default"]["lift_vs_holdout"]["rate_points"] for campaign in winback)
    conversions = tuple(campaign["variants"]["default"]["conversions"] + campaign["holdout"]["conversions"] for campaign in winback)
    assert figures["winback: conversions"] == conversions
    assert "sunset: lapses" not in figures  # sunset sends nothing: its entries are the only figure


def test_the_table_names_both_policies(tmp_path):
    history, thresholds, predictive = _files(tmp_path)
    result = CliRunner().invoke(main, ["backtest", history, "--policy", thresholds, "--compare", predictive], terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "thresholds.yaml" in result.output and "predictive.yaml" in result.output
    assert "winback: lift vs holdout" in result.output and " pts " in result.output


def test_the_entries_the_predictive_trigger_started_are_counted_as_the_trigger_records_say(tmp_path):
    history, thresholds, predictive = _files(tmp_path)
    lines = Path(history).read_bytes().splitlines()
    triggers: list[Trigger] = []
    full = run_backtest(lines, policy(PREDICTIVE), on_record=lambda _, record: triggers.append(record) if isinstance(record, Trigger) else None)
    counted = run_backtest(lines, policy(PREDICTIVE)).as_dict()["predictive_triggers"]
    by_model = Counter(trigger.stage for trigger in triggers if trigger.reason == "predictive")
    assert counted == full.as_dict()["predictive_triggers"] == {"reactivation": by_model["reactivation"], "winback": by_model["winback"], "sunset": 0}
    assert by_model["winback"] > 0 and all(trigger.p_alive is not None for trigger in triggers)
    assert run_backtest(lines, policy(THRESHOLDS)).as_dict()["predictive_triggers"] == {"reactivation": 0, "winback": 0, "sunset": 0}
    result = CliRunner().invoke(main, ["backtest", history, "--policy", thresholds, "--compare", predictive, "--format", "json"])
    figures = {figure["figure"]: (figure["baseline"], figure["compared"]) for figure in json.loads(result.output)["comparison"]}
    assert figures["entries the predictive trigger started"] == (0, sum(by_model.values()))
    table = " ".join(CliRunner().invoke(main, ["backtest", history, "--policy", predictive]).output.split())  # titles wrap
    assert "Of those, started by the predictive trigger" in table
    assert "predictive trigger" not in CliRunner().invoke(main, ["backtest", history, "--policy", thresholds]).output
