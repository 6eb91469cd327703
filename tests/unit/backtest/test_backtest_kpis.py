"""The backtest's campaign KPIs on a history with hand-computed numbers."""

from click.testing import CliRunner

from streams.backtest.run import run_backtest
from streams.cli import main
from streams.devtools import testing

from tests.support import kpi_history as history
from tests.support.builders import policy
from tests.support.kpi_checks import check_summary


def test_the_backtest_reports_every_kpi_of_the_hand_computed_history():
    report = run_backtest(testing.event_lines(history.HISTORY), policy(history.POLICY))
    check_summary(report.as_dict()["kpis"])


def test_the_full_records_give_the_same_kpis_as_the_counting_ones():
    counted = run_backtest(testing.event_lines(history.HISTORY), policy(history.POLICY))
    full = run_backtest(testing.event_lines(history.HISTORY), policy(history.POLICY), on_record=lambda *_: None)
    assert full.as_dict()["kpis"] == counted.as_dict()["kpis"]


def test_the_command_prints_the_funnel_and_the_lift(tmp_path):
    log, policy_file = tmp_path / "events.jsonl", tmp_path / "policy.yaml"
    log.write_bytes(b"\n".join(testing.event_lines(history.HISTORY)) + b"\n")
    policy_file.write_text(history.POLICY)
    result = CliRunner().invoke(main, ["backtest", str(log), "--policy", str(policy_file)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    funnel = next(line for line in result.output.splitlines() if "reactivation" in line and "email" in line)
    assert [cell.strip() for cell in funnel.split("│")[1:-1]] == [
        "reactivation", "0", "default", "email", "4", "75.0%", "50.0%", "25.0%", "25.0%", "2 (50.0%)",
        "50.00 EUR, 60.00 USD", "5.00", "2.00", "10.43", "0",
    ]
    assert "Lift over the holdout" in result.output
