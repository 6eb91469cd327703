"""A CSV export reads as Python's csv module reads it, whichever reader reads which rows.

Arrow's reader takes the plain rows; from the first row that is not (a quote, a blank line, a
row of another length, bad UTF-8), Python's.  The reference here is Python's reader alone: for
any text, the export's JSON lines must be those of the rows it gives.
"""

import csv
import io
import tempfile
from pathlib import Path

import pyarrow
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.backtest.export_lines import export_lines
from streams.backtest.history import FIELDS, ColumnMap, history_lines

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


def reference_lines(text: bytes) -> bytes:
    """The JSON lines of the rows Python's csv module reads from ``text``."""
    rows = list(csv.reader(io.TextIOWrapper(io.BytesIO(text), encoding="utf-8-sig", errors="replace", newline="")))
    header = [name.strip() for name in rows[0]] if rows else []
    body = [[*row, *[None] * len(header)][: len(header)] for row in rows[1:]]
    if not body or header != HEADER:
        return b""
    columns = dict(zip(HEADER, (pyarrow.array(cells, pyarrow.string()) for cells in zip(*body))))
    return export_lines([(name, columns[name]) for name in FIELDS if name in columns], None)


@settings(max_examples=80, deadline=None)
@given(ROWS, st.booleans(), st.sampled_from([b"", b"\xef\xbb\xbf"]), st.sampled_from([b"", b"\xff"]))
def test_an_export_reads_as_pythons_csv_module_reads_it(rows, quoted, bom, bad_byte):
    text = bom + as_text(rows, quoted)
    if bad_byte and rows:
        text = text[: len(text) // 2] + bad_byte + text[len(text) // 2 :]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "export.csv"
        path.write_bytes(text)
        expected = reference_lines(text)
        if not expected:  # no data row, or a header broken by the bad byte
            return
        assert b"".join(history_lines(path, ColumnMap())) == expected
