"""An export's columns become, a column at a time, the lines its rows give one by one.

The reference is the row-by-row conversion the backtest used before: a dict a row, each value
through ``field_value``, then a purchase's defaults.  For any columns (strings that need
escaping or are empty, numbers, NaN, timestamps with and without fractions or a zone, dates,
ISO times valid, impossible or with offsets, decimal strings, booleans, nulls), each line must
decode to what the reference line decodes to, event or rejection, and be as long (the size
limit applies to it).
"""

from datetime import date, datetime, timedelta, timezone
from typing import Any

import msgspec
import pyarrow
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.backtest.export_lines import DEFAULT_TYPE, NO_CURRENCY, export_lines, field_value
from streams.model.codec import decode_line_at

EDGE_TEXTS = ["", "c1", "purchase", "email", "login", "EUR", "open", 'say "hi"', "back\\slash", "tab\there", "é\u2028\x7f"]
EDGE_TIMES = [
    "2024-02-30 10:00:00", "2023-02-29T10:00:00", "2024-01-01 24:00:00", "2024-01-01T10:00:60", "2024-01-01Z",
    "2024-01-01 10:00:00", "2024-01-01T10:00:00.5", "2024-01-01T10:00:00+02:00", "2024-01-01T10:00:00-00:00",
    "2024-01-01", "12/1/2024 08:26", "", "soon",
]  # fmt: skip
EDGE_NUMBERS = ["6.95", "-2", "007", " 3", "1e5", "1_0", "nan", "inf", "abc", "-0", "0.1000000000000000055511151231257827", ""]
TEXTS = st.one_of(st.sampled_from(EDGE_TEXTS), st.text(max_size=6))
TIMES = st.datetimes(min_value=datetime(1969, 12, 1), max_value=datetime(2030, 1, 1))
TIME_TEXTS = st.one_of(
    TIMES.map(lambda moment: moment.replace(microsecond=0).isoformat(sep=" ")),
    TIMES.map(datetime.isoformat),
    TIMES.map(lambda moment: moment.replace(microsecond=0, tzinfo=timezone(timedelta(hours=2))).isoformat()),
    st.sampled_from(EDGE_TIMES),
)
NUMBER_TEXTS = st.one_of(st.sampled_from(EDGE_NUMBERS), st.floats().map(repr))
COLUMNS = {  # what a column of each kind may hold, and its Arrow type
    "text": (TEXTS, pyarrow.string()),
    "integer": (st.integers(-(2**40), 2**40), pyarrow.int64()),
    "float": (st.floats(width=64), pyarrow.float64()),
    "boolean": (st.booleans(), pyarrow.bool_()),
    "timestamp": (TIMES, pyarrow.timestamp("us")),
    "timestamp_utc": (TIMES.map(lambda moment: moment.replace(tzinfo=timezone.utc)), pyarrow.timestamp("ms", "UTC")),
    "date": (st.dates(min_value=date(1969, 12, 1), max_value=date(2030, 1, 1)), pyarrow.date32()),
    "time_text": (TIME_TEXTS, pyarrow.string()),
    "number_text": (NUMBER_TEXTS, pyarrow.string()),
}
FIELD_KINDS = {
    "type": ["text", "integer"],
    "event_id": ["text", "integer", "float"],
    "customer_id": ["text", "integer", "float", "boolean"],
    "occurred_at": ["timestamp", "timestamp_utc", "date", "time_text", "text", "integer"],
    "order_id": ["text", "integer"],
    "amount": ["float", "integer", "number_text", "text", "boolean"],
    "currency": ["text"],
    "categories": ["text", "integer"],
    "action": ["text"],
}


@st.composite
def exports(draw: Any) -> list[tuple[str, pyarrow.Array]]:
    """Some fields, each a column of some kind (its values may be null)."""
    rows = draw(st.integers(1, 6))
    fields = draw(st.lists(st.sampled_from(sorted(FIELD_KINDS)), min_size=1, max_size=6, unique=True))
    columns = []
    for name in fields:
        values, kind = COLUMNS[draw(st.sampled_from(FIELD_KINDS[name]))]
        cells = draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows))
        columns.append((name, pyarrow.array(cells, kind)))
    return columns


def reference_line(names: list[str], row: list[Any], time_format: str | None) -> bytes:
    """The row as the backtest read it before, one dict a row."""
    event: dict[str, Any] = {}
    for name, value in zip(names, row):
        if value is not None and value != "":
            event[name] = field_value(name, value, time_format)
    if event.setdefault("type", DEFAULT_TYPE) == DEFAULT_TYPE:
        event.setdefault("currency", NO_CURRENCY)
        if "event_id" in event:
            event.setdefault("order_id", event["event_id"])
        elif "order_id" in event:
            event["event_id"] = event["order_id"]
    return msgspec.json.encode(event)


@pytest.mark.parametrize("time_format", [None, "%m/%d/%Y %H:%M"])
@pytest.mark.parametrize(("name", "cells"), [
    ("customer_id", EDGE_TEXTS), ("occurred_at", EDGE_TIMES), ("amount", EDGE_NUMBERS), ("categories", EDGE_TEXTS),
    ("occurred_at", [datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 10, 0, 0, 5), datetime(1969, 12, 31), datetime(999, 1, 1)]),
    ("occurred_at", [date(2024, 2, 29), date(5, 1, 1)]), ("amount", [6.95, float("nan"), float("inf"), -0.0, 1e16, 0.1 + 0.2]),
    ("event_id", [13085.0, 1e16, -7.5, 0.0, -0.0]), ("event_id", [True, False]), ("amount", [2**53 + 1, -3]),
    ("customer_id", pyarrow.array(["c1", "", None, "c1"]).dictionary_encode()), ("currency", pyarrow.array(["EUR", "", None], pyarrow.large_string())),
])  # fmt: skip
def test_the_edge_values_of_a_column_decode_as_row_by_row(name, cells, time_format):
    column = cells if isinstance(cells, pyarrow.Array) else pyarrow.array(cells)
    customers = pyarrow.array([f"c{index}" for index in range(len(cells))])
    assert_lines_as_reference([(name, column), ("customer_id", customers)] if name != "customer_id" else [(name, column)], time_format)


@settings(max_examples=120, deadline=None)
@given(exports(), st.sampled_from([None, "%Y-%m-%d %H:%M"]))
def test_each_line_decodes_as_the_row_by_row_line_does(export, time_format):
    assert_lines_as_reference(export, time_format)


def assert_lines_as_reference(columns: list[tuple[str, pyarrow.Array]], time_format: str | None) -> None:
    names = [name for name, _ in columns]
    values = [column.to_pylist() for _, column in columns]
    lines = export_lines(columns, time_format).split(b"\n")
    assert lines.pop() == b""
    assert len(lines) == len(values[0])
    for line, row in zip(lines, zip(*values)):
        expected = reference_line(names, list(row), time_format)
        assert len(line) == len(expected), (line, expected)
        assert decode_line_at(line, now=2e9) == decode_line_at(expected, now=2e9), (line, expected)
