"""``winback backtest`` and ``winback policy check`` from the command line."""

import gzip
import json
import time

import pytest

from click.testing import CliRunner

from streams.cli import main
from streams.policy.loading import default_policy_path

from tests.support.builders import DAY, T0, line, login, purchase
from tests.support.policies import SMALL


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


@pytest.mark.parametrize("until", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_a_moment_an_offset_takes_past_year_9999_or_before_year_1_is_one_line(tmp_path, until):
    result = invoke("backtest", str(write_log(tmp_path)), "--until", until)

    assert result.exit_code == 2
    assert f"Invalid value for '--until': {until!r} is outside the years 1 to 9999 in UTC" in result.output  # was a traceback


def test_table_report_for_people(tmp_path):
    result = invoke("backtest", str(write_log(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "Stage entries" in result.output and "reactivation" in result.output and "malformed_json" in result.output


def test_invalid_policy_stops_the_backtest(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: {reactivation: 30}\ncampaign: {}\n")
    result = invoke("backtest", str(write_log(tmp_path)), "--policy", str(bad))
    assert (result.exit_code, result.stderr) == (1, f"winback: {bad}: campaign: unknown key (did you mean 'campaigns'?) (line 2)\n")
    missing = invoke("backtest", str(write_log(tmp_path)), "--policy", str(tmp_path / "missing.yaml"))
    assert missing.stderr.startswith(f"winback: {tmp_path / 'missing.yaml'}: cannot read") and missing.stderr.count("\n") == 1


def test_policy_check(tmp_path):
    ok = invoke("policy", "check", str(default_policy_path()))
    assert ok.exit_code == 0 and "ok (reactivation 30d, winback 90d, sunset 365d" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: {reactivation: 30, winback: 10}\n")
    result = invoke("policy", "check", str(bad))
    assert result.exit_code == 1
    assert result.output.strip() == f"{bad}: stages.winback: must start after reactivation (10 days is not more than 30 days) (line 1)"


def test_a_line_dated_after_the_run_is_a_future_timestamp_by_the_worker_s_skew(tmp_path):
    in_two_days = (time.time() - T0) / DAY + 2
    path = tmp_path / "events.jsonl"
    path.write_bytes(line(purchase(0)) + b"\n" + line(login(in_two_days)) + b"\n")

    default = json.loads(invoke("backtest", str(path), "--format", "json").stdout)
    week = CliRunner().invoke(main, ["backtest", str(path), "--format", "json"], env={"WINBACK_MAX_FUTURE_SKEW_SECONDS": "604800"})

    assert (default["rejected_reasons"], default["until"]) == ({"future_timestamp": 1}, "2024-01-01T12:00:00+00:00")
    assert json.loads(week.stdout)["rejected"] == 0


def gzipped_log(tmp_path):
    """A gzip file of 200 valid lines, and its bytes (enough data for a cut to land inside it)."""
    data = gzip.compress(b"".join(line(purchase(day)) + b"\n" for day in range(200)))
    return tmp_path / "events.jsonl.gz", data


def test_a_truncated_gzip_is_one_line_naming_the_file_and_where_it_ends(tmp_path):
    path, data = gzipped_log(tmp_path)
    path.write_bytes(data[: len(data) // 2])
    result = invoke("backtest", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"winback: {path}: not a valid gzip file (truncated at byte {len(data) // 2}?)"
        " - it ends before its data does; copy or export it again\n"
    )


def test_a_damaged_gzip_is_one_line_naming_the_file(tmp_path):
    path, data = gzipped_log(tmp_path)
    path.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    result = invoke("backtest", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"winback: {path}: not a valid gzip file (")
    assert result.stderr.endswith(") - the compressed data is damaged; copy or export it again\n")
    assert result.stderr.count("\n") == 1


def test_a_missing_file_or_a_directory_is_one_line(tmp_path):
    missing = tmp_path / "missing.jsonl"
    result = invoke("backtest", str(missing))
    assert (result.exit_code, result.stderr) == (1, f"winback: {missing}: no such file\n")
    result = invoke("backtest", str(tmp_path))
    assert (result.exit_code, result.stderr) == (1, f"winback: {tmp_path}: is a directory - give the event file itself\n")


def test_an_unreadable_file_is_one_line(tmp_path, monkeypatch):
    path = write_log(tmp_path)

    def denied(*args, **kwargs):  # chmod 000 would not stop a test run as root
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("streams.backtest.event_log.open", denied, raising=False)
    result = invoke("backtest", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"winback: {path}: permission denied - make it readable (chmod +r) or run as a user who can read it\n"
    )


def test_bytes_that_are_not_utf8_reject_their_lines_only(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"type":"login",\xff}\n\xfe\xff\n' + line(purchase(0)) + b"\n")
    result = invoke("backtest", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["events"], report["rejected_reasons"]) == (1, {"malformed_json": 2})


def test_progress_goes_to_stderr_and_json_stays_clean(tmp_path):
    result = CliRunner().invoke(main, ["backtest", str(write_log(tmp_path)), "--format", "json", "--progress"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["events"] == 2
    assert "reading lines" in result.stderr and "replaying events" in result.stderr and "/s" in result.stderr


def test_workers_report_a_missing_file_in_one_line(tmp_path):
    result = invoke("backtest", str(tmp_path / "missing.jsonl"), "--workers", "2")
    assert result.exit_code == 1
    assert result.output.strip() == f"winback: {tmp_path / 'missing.jsonl'}: no such file"


RETRACTING = SMALL + "late_events: {retract_within_days: 7}\n"
# c1's day-14 purchase arrives after c2's day-20 one: c1's winback (day 15) had fired by then.
LATE = [purchase(0, "c1"), purchase(20, "c2"), purchase(14, "c1")]


def test_arrival_order_retracts_in_a_json_lines_or_csv_file_and_compare_replays_both_in_it(tmp_path):
    retracting, plain = tmp_path / "retracting.yaml", tmp_path / "plain.yaml"
    retracting.write_text(RETRACTING)
    plain.write_text(SMALL)
    jsonl, csv = tmp_path / "late.jsonl", tmp_path / "late.csv"
    jsonl.write_bytes(b"\n".join(line(event) for event in LATE) + b"\n")
    rows = (f"{event.event_id},{event.customer_id},{event.occurred_at.isoformat()},{event.amount}" for event in LATE)
    csv.write_text("event_id,customer_id,occurred_at,amount\n" + "\n".join(rows) + "\n")
    for path in (jsonl, csv):
        result = invoke("backtest", str(path), "--policy", str(retracting), "--order", "arrival", "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["retractions"] == {"retracted": 1, "cancels": 0, "sent_in_error": 2}
    in_time = json.loads(invoke("backtest", str(csv), "--policy", str(retracting), "--format", "json").stdout)
    assert in_time["retractions"]["retracted"] == 0  # in event-time order nothing is late
    result = invoke("backtest", str(jsonl), "--policy", str(retracting), "--compare", str(plain), "--order", "arrival", "--format", "json")
    assert result.exit_code == 0, result.output
    both = json.loads(result.stdout)
    assert both["baseline"]["report"]["retractions"]["retracted"] == 1
    assert both["compared"]["report"]["retractions"]["retracted"] == 0  # no late_events: the lapse acted on stands
    assert both["compared"]["report"]["stages"]["winback"] == 1


def test_arrival_order_in_several_processes_is_refused_in_one_line(tmp_path):
    result = invoke("backtest", str(write_log(tmp_path)), "--order", "arrival", "--workers", "2")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("winback: --order arrival replays in one process")


def test_more_workers_than_the_limit_are_refused_before_any_process_starts(tmp_path):
    result = invoke("backtest", str(write_log(tmp_path)), "--workers", "100000")  # (was 100,000 processes forked)
    assert result.exit_code == 2
    assert "Invalid value for '--workers': 100000 is not in the range 1<=x<=64." in result.output
