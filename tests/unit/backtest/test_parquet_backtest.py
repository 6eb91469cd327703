"""``winback backtest`` of a Parquet (and CSV) export: the report of the same events as JSON lines."""

import csv
import json
from datetime import datetime, timezone

import pyarrow
import pyarrow.parquet
from click.testing import CliRunner

from streams.cli import main
from streams.devtools.traffic import sparse_history, write_jsonl
from streams.model.events import EmailEngagement, Purchase

COLUMNS = ["kind", "id", "customer", "at", "order_id", "amount", "currency", "action", "campaign_id"]
MAPPING = "type=kind,event_id=id,customer_id=customer,occurred_at=at"


def backtest_json(*args: str) -> dict:
    result = CliRunner().invoke(main, ["backtest", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def shop_rows(events) -> list[list]:
    """A shop's export: one row per order or email event, in columns of its own naming."""
    return [
        [
            "purchase" if type(event) is Purchase else "email", event.event_id, event.customer_id,
            event.occurred_at.astimezone(timezone.utc).replace(tzinfo=None),
            getattr(event, "order_id", None), getattr(event, "amount", None), getattr(event, "currency", None),
            getattr(event, "action", None), getattr(event, "campaign_id", None),
        ]  # fmt: skip
        for event in events
    ]


def test_parquet_and_csv_exports_give_the_report_of_their_json_lines(tmp_path):
    events = [event for event in sparse_history(300) if type(event) in (Purchase, EmailEngagement)]
    write_jsonl([event if type(event) is not Purchase else _without_categories(event) for event in events], tmp_path / "log.jsonl")
    rows = shop_rows(events)
    table = pyarrow.table({name: [row[index] for row in rows] for index, name in enumerate(COLUMNS)})
    pyarrow.parquet.write_table(table, tmp_path / "log.parquet")
    with open(tmp_path / "log.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows([*row[:3], row[3].isoformat(), *row[4:]] for row in rows)
    expected = backtest_json(str(tmp_path / "log.jsonl"))
    assert expected["triggers"]["reactivation"] > 100 and expected["rejected"] == 0
    assert backtest_json(str(tmp_path / "log.parquet"), "--map", MAPPING) == expected
    assert backtest_json(str(tmp_path / "log.parquet"), "--map", MAPPING, "--workers", "2") == expected
    assert backtest_json(str(tmp_path / "log.csv"), "--map", MAPPING) == expected


def test_a_bad_row_is_rejected_with_its_row_number(tmp_path):
    rows = [["purchase", "o1", "c1", datetime(2024, 1, 1), "o1", 10.0, "EUR", None, None], ["purchase", "o2", "c1", None, "o2", 5.0, "EUR", None, None]]
    table = pyarrow.table({name: [row[index] for row in rows] for index, name in enumerate(COLUMNS)})
    pyarrow.parquet.write_table(table, tmp_path / "log.parquet")
    report = backtest_json(str(tmp_path / "log.parquet"), "--map", MAPPING)
    assert report["events"] == 1 and report["rejected"] == 1 and report["rejected_examples"][0]["line"] == 2


def _without_categories(purchase: Purchase) -> Purchase:
    """The purchase as the export has it (no categories column)."""
    return Purchase(
        event_id=purchase.event_id, customer_id=purchase.customer_id, occurred_at=purchase.occurred_at,
        order_id=purchase.order_id, amount=purchase.amount, currency=purchase.currency,
    )  # fmt: skip
