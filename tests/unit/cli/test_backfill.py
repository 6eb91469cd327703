"""``winback backfill`` from the command line, where no broker is needed: the dry run and bad input."""

import json

from click.testing import CliRunner

from streams.cli import main

from tests.support.builders import line, login, purchase
from tests.support.policies import SMALL


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_a_dry_run_prints_the_customers_per_stage_at_as_of_and_writes_nothing(tmp_path):
    policy = tmp_path / "small.yaml"
    policy.write_text(SMALL)
    history = tmp_path / "events.jsonl"
    history.write_bytes(b"\n".join([line(purchase(0, "a")), line(login(8, "b")), line(purchase(30, "c")), b"oops"]) + b"\n")
    # No broker is reachable at this address: a dry run never asks for one.
    result = CliRunner().invoke(
        main, ["backfill", str(history), "--policy", str(policy), "--as-of", "2024-01-20T12:00:00Z", "--dry-run", "--format", "json"],
        env={"WINBACK_BROKER": "127.0.0.1:9", "WINBACK_BROKER_TIMEOUT": "0.5"},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "as_of": "2024-01-20T12:00:00Z",
        "customers": 2,  # c's only event is after --as-of
        "stages": {"active": 0, "reactivation": 1, "winback": 1, "sunset": 0},  # b quiet 11 days, a 19
    }
    assert result.stderr.startswith(f"1 rows rejected (not applied); the first 1:\n  {history}:4: malformed_json")


def test_the_table_format_counts_every_stage(tmp_path):
    history = tmp_path / "events.jsonl"
    history.write_bytes(line(purchase(0, "a")) + b"\n")
    result = invoke("backfill", str(history), "--dry-run", "--as-of", "2024-01-02")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing written" in result.stdout
    assert all(stage in result.stdout for stage in ("active", "reactivation", "winback", "sunset"))


def test_unreadable_input_is_one_line(tmp_path):
    missing = invoke("backfill", str(tmp_path / "nope.jsonl"), "--dry-run")
    assert missing.exit_code == 1 and missing.stderr == f"winback: {tmp_path / 'nope.jsonl'}: no such file\n"
    csv = tmp_path / "orders.csv"
    csv.write_text("id,when\n1,2020-01-01\n")
    unmapped = invoke("backfill", str(csv), "--dry-run", "--map", "customer_id=Customer")
    assert unmapped.exit_code == 1
    assert unmapped.stderr == f"winback: {csv}: no column customer_id=Customer (the file has id, when)\n"
    bad_map = invoke("backfill", str(csv), "--dry-run", "--map", "price=Price")
    assert bad_map.exit_code == 1 and bad_map.stderr.count("\n") == 1 and "'price' is not an event field" in bad_map.stderr
