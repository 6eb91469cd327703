"""A CSV export reads as Python's csv module reads it, whichever reader reads which rows.

Arrow's reader takes the plain rows; from the first row that is not (a quote, a blank line, a
row of another length, bad UTF-8), Python's.  The reference here is Python's reader alone: for
any text, the export's JSON lines must be those of the rows it gives.  Arrow reads the file a
block at a time (1 MiB); with 64-byte blocks the handoff comes after rows Arrow has already read.
"""

import csv
import io
import tempfile
from pathlib import Path
from unittest.mock import patch

import pyarrow
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from streams.backtest import history
from streams.backtest.export_lines import export_lines
from streams.backtest.history import FIELDS, ColumnMap, HistoryError, history_lines

HEADER = ["customer_id", "amount", "occurred_at"]
CELLS = st.one_of(
    st.sampled_from(["c1", "c2", "6.95", "2024-01-01 10:00:00", "", " x ", "é"]),
    st.text(alphabet='ab,"\n\r é', max_size=5),
)
PLAIN = st.sampled_from(["c1", "6.95", "2024-01-01 10:00:00", ""])
ROWS = st.lists(st.one_of(st.lists(PLAIN, min_size=3, max_size=3), st.lists(CELLS, max_size=4)), max_size=12)


def as_text(rows: list[list[str]], quoted: bool) -> bytes:
    """The rows as CSV, quoted as the csv module does, or joined as they are (for malformed text)."""
    if quoted:
        out = io.StringIO(newline="")
        csv.writer(out).writerows([HEADER, *rows])
        return out.getvalue().encode()
    return "\n".join(",".join(row) for row in [HEADER, *rows]).encode()


def reference_lines(text: bytes) -> bytes | type[HistoryError]:
    """The JSON lines of the rows Python's csv module reads from ``text``, the columns named by
    its header as it reads it (no data row: nothing; no customer_id column: ``HistoryError``)."""
    rows = list(csv.reader(io.TextIOWrapper(io.BytesIO(text), encoding="utf-8-sig", errors="replace", newline="")))
    header = [name.strip() for name in rows[0]] if rows else []
    if len(rows) < 2:
        return b""
    if "customer_id" not in header:
        return HistoryError
    width = max(len(header), 1)
    body = [[*row, *[None] * width][:width] for row in rows[1:]]
    columns = dict(zip(header, (pyarrow.array(cells, pyarrow.string()) for cells in zip(*body))))
    return export_lines([(name, columns[name]) for name in FIELDS if name in columns], None)


PLAIN_THEN_QUOTED = [["c1", "6.95", "2024-01-01 10:00:00"]] * 8 + [['"c2"', "1", ""], ["c1", "", ""]]


@settings(max_examples=80, deadline=None)
@given(ROWS, st.booleans(), st.sampled_from([b"", b"\xef\xbb\xbf"]), st.sampled_from([b"", b"\xff"]), st.sampled_from([64, 1 << 20]))
@example(PLAIN_THEN_QUOTED, False, b"", b"", 64)  # Arrow reads the first blocks' rows, Python's the rest
def test_an_export_reads_as_pythons_csv_module_reads_it(rows, quoted, bom, bad_byte, block_bytes):
    text = bom + as_text(rows, quoted)
    if bad_byte and rows:
        text = text[: len(text) // 2] + bad_byte + text[len(text) // 2 :]
    expected = reference_lines(text)
    with tempfile.TemporaryDirectory() as scratch, patch.object(history, "_ARROW_BLOCK_BYTES", block_bytes):
        path = Path(scratch) / "export.csv"
        path.write_bytes(text)
        if expected is HistoryError:
            with pytest.raises(HistoryError, match="no customer_id column"):
                b"".join(history_lines(path, ColumnMap()))
        else:
            assert b"".join(history_lines(path, ColumnMap())) == expected
