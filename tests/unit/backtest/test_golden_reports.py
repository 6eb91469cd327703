"""The backtest's report stays byte-identical to the one recorded before it was made faster.

The golden files (tests/golden/backtest) were recorded from the backtest as it was before its
redesign for speed; ``tests.support.backtest_golden`` says what the inputs are.
"""

import json

import pytest

from streams.backtest.event_log import read_text
from streams.backtest.run import run_backtest
from streams.policy.loading import load_policy

from tests.support.backtest_golden import CASES, LOGS, POLICIES, backtest_output, golden_path, write_log


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("golden-logs")
    return {name: write_log(name, directory / f"{name}.jsonl") for name in LOGS}


@pytest.mark.parametrize(("log", "policy", "suffix"), CASES)
def test_report_is_byte_identical_to_the_recorded_one(logs, log, policy, suffix):
    assert backtest_output(logs[log], policy, suffix) == golden_path(log, policy, suffix).read_text()


@pytest.mark.parametrize("log", list(LOGS))
def test_full_records_give_the_recorded_report(logs, log):
    """With a record callback the engine writes full records (ids, timestamps): the same counts."""
    seen = []
    lines = b"".join(read_text(logs[log])).splitlines()
    report = run_backtest(lines, load_policy(POLICIES["full"]), on_record=lambda customer, record: seen.append(record))
    assert seen and report.as_dict() == json.loads(golden_path(log, "full", "json").read_text())


@pytest.mark.parametrize(("log", "policy", "suffix"), [("sparse", "full", "txt"), ("sparse", "example", "json"), ("dense", "full", "json")])
def test_workers_give_the_recorded_report(logs, log, policy, suffix):
    """Customers shared among processes by hash, counted back in the log's order: the same bytes."""
    for workers in ("2", "3"):
        assert backtest_output(logs[log], policy, suffix, "--workers", workers) == golden_path(log, policy, suffix).read_text()
