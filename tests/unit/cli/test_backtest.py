"""``winback backtest`` and ``winback policy check`` from the command line."""

import json

from click.testing import CliRunner

from streams.cli import main
from streams.policy.loading import default_policy_path

from tests.support.policies import SMALL
from tests.support.builders import line, login, purchase


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def write_log(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join([line(purchase(0)), line(login(100, "c2")), b"oops"]) + b"\n")
    return path


def test_json_report(tmp_path):
    result = invoke("backtest", str(write_log(tmp_path)), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"events", "customers", "rejected", "triggers", "commands"} <= report.keys()
    assert report["triggers"] == {"reactivation": 1, "winback": 1, "sunset": 0}  # the bundled example policy
    assert report["commands"] == {"email": 4, "sms": 1, "push": 0}
    assert report["rejected"] == 1 and report["rejected_examples"][0]["line"] == 3


def test_until_and_policy_options(tmp_path):
    policy_file = tmp_path / "small.yaml"
    policy_file.write_text(SMALL)
    result = invoke("backtest", str(write_log(tmp_path)), "--policy", str(policy_file), "--until", "2024-01-07", "--format", "json")
    report = json.loads(result.output)
    assert report["until"] == "2024-01-07T00:00:00+00:00"  # no offset: UTC
    assert report["triggers"]["reactivation"] == 1 and report["after_until"] == 1
    assert invoke("backtest", str(write_log(tmp_path)), "--until", "yesterday").exit_code == 2


def test_table_report_for_people(tmp_path):
    result = invoke("backtest", str(write_log(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "Stage entries" in result.output and "reactivation" in result.output and "malformed_json" in result.output


def test_invalid_policy_stops_the_backtest(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: {reactivation: 30}\ncampaign: {}\n")
    result = invoke("backtest", str(write_log(tmp_path)), "--policy", str(bad))
    assert result.exit_code == 1
    assert f"{bad}: campaign: unknown key (did you mean 'campaigns'?) (line 2)" in result.output


def test_policy_check(tmp_path):
    ok = invoke("policy", "check", str(default_policy_path()))
    assert ok.exit_code == 0 and "ok (reactivation 30d, winback 90d, sunset 365d" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: {reactivation: 30, winback: 10}\n")
    result = invoke("policy", "check", str(bad))
    assert result.exit_code == 1
    assert result.output.strip() == f"{bad}: stages.winback: must start after reactivation (10 days is not more than 30 days) (line 1)"
