"""A shop's own history files: JSON lines, CSV with a column mapping, Parquet; bad rows counted with their place."""

import gzip
from pathlib import Path

import pyarrow
import pyarrow.parquet
import pytest
from datetime import datetime, timezone

from streams.backtest.export_lines import NO_CURRENCY
from streams.backtest.history import ColumnMap, HistoryError, read_history
from streams.model.events import Login, Purchase

from tests.support.builders import line, login, purchase

RETAIL_MAP = "customer_id=Customer ID,occurred_at=InvoiceDate,amount=Price,event_id=Invoice"


def _events(history) -> dict[str, list]:
    return {customer.customer_id: customer.events for customer in history.log.customers()}


def test_csv_columns_are_mapped_to_a_purchase_log(tmp_path: Path):
    path = tmp_path / "retail.csv"
    path.write_text(
        "Invoice,StockCode,InvoiceDate,Price,Customer ID\n"
        "489434,85048,1994-12-01 07:45:00,6.95,13085\n"
        "489435,22350,1994-12-02T07:46:00+01:00,2.55,13085\n"
        "489436,22350,1995-01-05 10:00:00,1.00,13086\n"
    )
    history = read_history([path], ColumnMap.parse(RETAIL_MAP))
    events = _events(history)
    assert [type(event) for event in events["13085"]] == [Purchase, Purchase]
    first = events["13085"][0]
    assert (first.event_id, first.order_id, first.amount, first.currency) == ("489434", "489434", 6.95, NO_CURRENCY)
    assert first.occurred_at == datetime(1994, 12, 1, 7, 45, tzinfo=timezone.utc)  # naive: UTC
    assert events["13086"][0].occurred_at.year == 1995
    assert history.rejections() == []


def test_bad_rows_are_rejected_with_file_line_and_reason(tmp_path: Path):
    path = tmp_path / "retail.csv.gz"
    with gzip.open(path, "wt") as text:
        text.write(
            "Invoice,InvoiceDate,Price,Customer ID\n"
            "1,2010-12-01 07:45:00,6.95,c1\n"
            "2,yesterday,2.55,c1\n"
            "3,2010-12-01 07:45:00,-2,c2\n"
            "4,2010-12-01 07:45:00,2,\n"
        )
    history = read_history([path], ColumnMap.parse(RETAIL_MAP))
    assert list(_events(history)) == ["c1"]
    rejected = [(where.name, number, why.reason) for where, number, why in history.rejections()]
    assert rejected == [
        ("retail.csv.gz", 3, "invalid_value"),  # the time
        ("retail.csv.gz", 4, "invalid_value"),  # a negative amount
        ("retail.csv.gz", 5, "missing_field"),  # no customer
    ]


def test_a_short_or_blank_csv_row_lacks_the_fields_it_ends_before(tmp_path: Path):
    path = tmp_path / "retail.csv"
    path.write_text("Invoice,InvoiceDate,Price,Customer ID\n1,2010-12-01 07:45:00,6.95,c1\n2,2010-12-02 07:45:00\n\n3,2010-12-03 07:45:00,1,c1,extra\n")
    history = read_history([path], ColumnMap.parse(RETAIL_MAP))
    assert [event.event_id for event in _events(history)["c1"]] == ["1", "3"]
    assert [(number, why.reason) for _, number, why in history.rejections()] == [(3, "missing_field"), (4, "missing_field")]


def test_a_quoted_header_names_its_columns_without_the_quotes(tmp_path: Path):
    path = tmp_path / "quoted.csv"
    path.write_text('"cid","ts","amt","order"\nc1,2010-12-01 07:45:00,6.95,o1\n')
    history = read_history([path], ColumnMap.parse("customer_id=cid,occurred_at=ts,amount=amt,order_id=order"))
    assert [event.amount for event in _events(history)["c1"]] == [6.95]
    assert history.rejections() == []


def test_a_header_that_is_not_utf8_is_read_with_the_bad_bytes_replaced(tmp_path: Path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"customer_id,order_id,occurred_at,amount,Pr\xe9nom\nc1,o1,2010-12-01 07:45:00,6.95,Ren\xe9\n")
    history = read_history([path], ColumnMap())
    assert [event.order_id for event in _events(history)["c1"]] == ["o1"]
    assert history.rejections() == []


def test_a_time_format_reads_other_date_notations_and_a_type_column_other_events(tmp_path: Path):
    path = tmp_path / "mixed.csv"
    path.write_text("kind,id,who,when,amount\npurchase,p1,c1,12/1/1999 8:26,5\nlogin,l1,c1,12/3/1999 9:00,\n")
    columns = ColumnMap.parse("type=kind,event_id=id,customer_id=who,occurred_at=when", "%m/%d/%Y %H:%M")
    events = _events(read_history([path], columns))["c1"]
    assert [type(event) for event in events] == [Purchase, Login]
    assert events[1].occurred_at == datetime(1999, 12, 3, 9, tzinfo=timezone.utc)


def test_parquet_rows_with_native_timestamps(tmp_path: Path):
    path = tmp_path / "orders.parquet"
    table = pyarrow.table({
        "order": ["o1", "o2", "o3"],
        "customer": ["c1", "c2", None],
        "at": [datetime(1992, 5, 1, 12), datetime(1993, 6, 1, 12), datetime(1993, 6, 1, 12)],
        "total": [10.5, 20.0, 1.0],
    })
    pyarrow.parquet.write_table(table, path)
    history = read_history([path], ColumnMap.parse("order_id=order,customer_id=customer,occurred_at=at,amount=total"))
    events = _events(history)
    assert events["c1"][0].occurred_at == datetime(1992, 5, 1, 12, tzinfo=timezone.utc)
    assert events["c2"][0].amount == 20.0 and events["c2"][0].event_id == "o2"
    assert [(where.name, number) for where, number, _ in history.rejections()] == [("orders.parquet", 3)]


def test_a_parquet_time_outside_the_years_1_to_9999_is_a_rejected_row(tmp_path: Path):
    path = tmp_path / "orders.parquet"
    last_second, year_10000, year_0 = 253402300799, 253402300800, -62135596801  # seconds since 1970
    table = pyarrow.table({
        "order_id": ["o1", "o2", "o3"],
        "customer_id": ["c1", "c2", "c3"],
        "occurred_at": pyarrow.array([last_second, year_10000, year_0], pyarrow.timestamp("s")),
        "amount": [1.0, 2.0, 3.0],
    })
    pyarrow.parquet.write_table(table, path)
    history = read_history([path], ColumnMap())
    assert list(_events(history)) == ["c1"]
    rejected = [(number, why.reason, why.detail) for _, number, why in history.rejections()]
    assert rejected == [(number, "invalid_value", "Invalid RFC3339 encoded datetime - at `$.occurred_at`") for number in (2, 3)]


def test_several_files_are_one_history_numbered_file_by_file(tmp_path: Path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(line(purchase(0, "c1")) + b"\n" + b"{broken\n")
    second.write_bytes(b"not json\n" + line(login(3, "c1")) + b"\n")
    history = read_history([first, second])
    assert [type(event) for event in _events(history)["c1"]] == [Purchase, Login]
    assert [(where.name, number) for where, number, _ in history.rejections()] == [("a.jsonl", 2), ("b.jsonl", 1)]


def test_a_mapped_column_the_file_lacks_is_one_clear_error(tmp_path: Path):
    path = tmp_path / "orders.csv"
    path.write_text("id,when\n1,2020-01-01\n")
    with pytest.raises(HistoryError, match=r"orders.csv: no column customer_id=CustomerID \(the file has id, when\)"):
        _events(read_history([path], ColumnMap.parse("customer_id=CustomerID")))
    with pytest.raises(HistoryError, match="no customer_id column"):
        _events(read_history([path], ColumnMap.parse("event_id=id")))


def test_a_mapping_names_known_fields_as_field_equals_column():
    assert ColumnMap.parse(" customer_id = Customer ID ,amount=Price").columns == {"customer_id": "Customer ID", "amount": "Price"}
    with pytest.raises(HistoryError, match="'price' is not an event field"):
        ColumnMap.parse("price=Price")
    with pytest.raises(HistoryError, match="is not field=Column"):
        ColumnMap.parse("customer_id")
