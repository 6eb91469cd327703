"""A shop's own history files, in the formats shops export, as the lines of one ``EventLog``.

Three formats, told by the file name:

* JSON lines (``.jsonl``, ``.json``, anything else; gzipped or not): the backtest's format,
  one event with its ``type`` a line, read as it is (``event_log.read_text``);
* CSV (``.csv``, ``.csv.gz``) and Parquet (``.parquet``, ``.pq``): one event a row, its fields
  taken from columns named by a ``ColumnMap`` (``customer_id=CustomerID,occurred_at=InvoiceDate``).

Every row becomes the JSON line the backtest would read (``export_lines``, a batch of columns
at a time; pyarrow is imported only for such a file), and every line goes through the
stream's own codec: a bad row is rejected with the codec's reason and its place in its file,
never dropped silently and never fatal.  Several files are read as one history (a customer's
events may be spread over them), their rows numbered file by file.
"""

from __future__ import annotations

import csv
import gzip
import io
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from itertools import islice
from typing import TYPE_CHECKING, BinaryIO, cast

from streams.backtest.event_log import EventLog, read_text
from streams.model.codec import DEFAULT_LIMITS, Limits, Rejection
from streams.model.events import AnyInput

if TYPE_CHECKING:
    import pyarrow

# The fields a row may give, and what a field left unmapped is.
FIELDS = (
    "type", "event_id", "customer_id", "occurred_at", "order_id", "amount", "currency", "categories",
    "platform", "action", "campaign_id", "message_id",
)  # fmt: skip
_ROWS_PER_PIECE = 4096
_ARROW_BLOCK_BYTES = 1 << 20  # how much of a CSV file Arrow's reader parses at a time


class HistoryError(Exception):
    """A history that cannot be read at all (a missing column, an unreadable file): one line saying which and why."""


@dataclass(frozen=True)
class ColumnMap:
    """Which column holds each event field (a field not named here: the column of that name, if any).

    ``time_format``: a ``strptime`` format for times that are not ISO 8601 (``%m/%d/%Y %H:%M``);
    times without an offset are UTC.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    time_format: str | None = None

    @classmethod
    def parse(cls, text: str | None, time_format: str | None = None) -> ColumnMap:
        """``field=Column,field=Column``; raises ``HistoryError`` naming an unknown field or a bad pair."""
        columns: dict[str, str] = {}
        for pair in filter(None, (part.strip() for part in (text or "").split(","))):
            name, sep, column = pair.partition("=")
            name, column = name.strip(), column.strip()
            if not sep or not column:
                raise HistoryError(f"--map: {pair!r} is not field=Column")
            if name not in FIELDS:
                raise HistoryError(f"--map: {name!r} is not an event field (one of {', '.join(FIELDS)})")
            columns[name] = column
        return cls(columns, time_format)

    def column_of(self, name: str) -> str:
        return self.columns.get(name, name)


@dataclass
class History:
    """The events of every file, filed per customer (``log``), and where each line came from."""

    log: EventLog
    paths: list[Path]
    _starts: list[int]  # the number, in the log, of each file's first line

    def place(self, number: int) -> tuple[Path, int]:
        """(file, row or line number in it) of the log's line ``number``."""
        index = bisect_right(self._starts, number) - 1
        return self.paths[index], number - self._starts[index] + 1

    def in_time_order(self) -> list[tuple[float, AnyInput]]:
        """Every valid event with its time, in (time, event id) order across customers: the
        history as it happened, for a replay onto the input topics (held in memory at once)."""
        timed = [pair for customer in self.log.customers() for pair in zip(customer.times, customer.events)]
        timed.sort(key=_time_and_id)
        return timed

    def line_in_file(self, number: int) -> int:
        """The row or line number, in its file, of the log's line ``number``."""
        return self.place(number)[1]

    def rejections(self) -> list[tuple[Path, int, Rejection]]:
        """Every rejected line as (file, its number there, why); complete once ``log.customers()`` is exhausted."""
        return [(*self.place(number), why) for number, why in self.log.rejections]


def _time_and_id(pair: tuple[float, AnyInput]) -> tuple[float, str]:
    return pair[0], pair[1].event_id


def read_history(
    paths: Sequence[Path],
    columns: ColumnMap | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
    now: float | None = None,
    on_lines: Callable[[int], None] = lambda count: None,
    arrival_order: bool = False,
) -> History:
    """Read every file into one ``EventLog`` (checked against ``limits``, far-future times against
    ``now``); ``on_lines`` is told the number of lines of each piece read, for a progress bar.
    ``arrival_order``: each customer's events in line order (``EventLog``).

    A CSV file's numbers are its lines (the header is line 1); a Parquet file's, its rows
    (from 1); a JSON-lines file's, its non-blank lines.  Raises ``HistoryError`` (or
    ``EventFileError``) for a file that cannot be read.
    """
    counter = _LineCounter(on_lines)
    pieces = (piece for path in paths for piece in counter.pieces(path, columns or ColumnMap()))
    log = EventLog.from_text(pieces, limits=limits, now=now, arrival_order=arrival_order)
    return History(log, list(paths), counter.starts)


class _LineCounter:
    """Numbers the lines of several files as ``EventLog.from_text`` does (blank lines not counted)."""

    def __init__(self, on_lines: Callable[[int], None]) -> None:
        self.starts: list[int] = []
        self.count = 0
        self.on_lines = on_lines

    def pieces(self, path: Path, columns: ColumnMap) -> Iterator[bytes]:
        offset = 1 if _format(path) == "csv" else 0  # a CSV row's number is its line: the header is line 1
        self.starts.append(self.count + 1 - offset)
        for piece in history_lines(path, columns):
            lines = sum(1 for line in piece.split(b"\n") if line.strip())
            self.count += lines
            self.on_lines(lines)
            yield piece


def history_lines(path: Path, columns: ColumnMap) -> Iterator[bytes]:
    """The file's events as JSON lines, in pieces ending at line ends."""
    kind = _format(path)
    if kind == "jsonl":
        if columns.columns or columns.time_format:
            raise HistoryError(f"{path}: --map and --time-format apply to CSV and Parquet files; JSON lines name their fields")
        return read_text(path)
    rows = _csv_rows(path) if kind == "csv" else _parquet_rows(path)
    return _as_lines(path, rows, columns)


def _format(path: Path) -> str:
    suffixes = [suffix.lower() for suffix in path.suffixes[-2:]]
    if suffixes[-1:] in ([".parquet"], [".pq"]):
        return "parquet"
    if ".csv" in suffixes:
        return "csv"
    return "jsonl"


def _as_lines(path: Path, batches: Iterator[tuple[list[str], list[pyarrow.Array]]], columns: ColumnMap) -> Iterator[bytes]:
    """JSON lines of the rows, a piece per batch (``export_lines``)."""
    from streams.backtest.export_lines import export_lines

    for header, batch in batches:
        picks = _picks(path, header, columns)
        if len(batch[0]):
            yield export_lines([(name, batch[index]) for name, index in picks], columns.time_format)


def _picks(path: Path, header: list[str], columns: ColumnMap) -> list[tuple[str, int]]:
    """(field, column index) of each field the file has; a mapped column it lacks is an error."""
    where = {name: index for index, name in enumerate(header)}
    missing = [f"{name}={column}" for name, column in columns.columns.items() if column not in where]
    if missing:
        raise HistoryError(f"{path}: no column {', '.join(missing)} (the file has {', '.join(header)})")
    picks = [(name, where[columns.column_of(name)]) for name in FIELDS if columns.column_of(name) in where]
    if not any(name == "customer_id" for name, _ in picks):
        raise HistoryError(f"{path}: no customer_id column - name it with --map customer_id=COLUMN")
    return picks


def _csv_rows(path: Path) -> Iterator[tuple[list[str], list[pyarrow.Array]]]:
    """(header, its columns) in batches of rows, each cell a string (None: the row ends before
    it); a gzipped file (by content) is read through gzip.

    Arrow's reader is about three times as fast as Python's, but they part ways on quotes,
    rows of the wrong length, blank lines, bad UTF-8 and huge cells.  So Arrow reads the rows
    while they are plain (none of those), and Python's reader, the reference, the rest of the
    file from the first row that is not.
    """
    done = 0
    try:
        for header, batch in _plain_csv_rows(path):
            yield header, batch
            done += len(batch[0])
        return
    except _NotPlain:
        pass
    yield from _python_csv_rows(path, done)


class _NotPlain(Exception):
    """A CSV row Arrow's reader may read otherwise than Python's."""


def _plain_csv_rows(path: Path) -> Iterator[tuple[list[str], list[pyarrow.Array]]]:
    """``_csv_rows`` by Arrow's reader, quotes taken as any other character; raises ``_NotPlain``
    before a batch that holds a row which is not plain (Arrow's error, or a cell with a quote),
    before the first batch when the header is not UTF-8 (Python's reader replaces the bad bytes),
    and before the first batch when the header has a quote (``"cid","ts"``: Python's reader
    takes the quotes off the names)."""
    import pyarrow
    import pyarrow.compute as pc
    import pyarrow.csv

    read = pyarrow.csv.ReadOptions(use_threads=False, block_size=_ARROW_BLOCK_BYTES)
    parse = pyarrow.csv.ParseOptions(quote_char=False, ignore_empty_lines=False)
    try:
        with _csv_bytes(path) as raw:
            names = pyarrow.csv.open_csv(raw, read_options=read, parse_options=parse).schema.names
        if any('"' in name for name in names):
            raise _NotPlain
        strings = pyarrow.csv.ConvertOptions(column_types=dict.fromkeys(names, pyarrow.string()), strings_can_be_null=False)
        header = [name.strip() for name in names]
        with _csv_bytes(path) as raw:
            for batch in pyarrow.csv.open_csv(raw, read_options=read, parse_options=parse, convert_options=strings):
                for column in batch.columns:
                    if pc.any(pc.match_substring(column, '"')).as_py() or pc.max(pc.binary_length(column)).as_py() > csv.field_size_limit():
                        raise _NotPlain
                yield header, batch.columns
    except (pyarrow.ArrowInvalid, UnicodeDecodeError) as error:  # the latter: a header that is not UTF-8
        raise _NotPlain from error
    except (OSError, EOFError) as error:
        raise HistoryError(f"{path}: cannot read it as CSV ({error})") from error


def _python_csv_rows(path: Path, skip: int) -> Iterator[tuple[list[str], list[pyarrow.Array]]]:
    """``_csv_rows`` by Python's reader, from the row after the first ``skip``."""
    import pyarrow

    try:
        with _csv_bytes(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="") as text:
            reader = csv.reader(text)
            header = [name.strip() for name in next(reader, [])]
            width = max(len(header), 1)
            for _ in islice(reader, skip):
                pass
            while rows := [row for _, row in zip(range(_ROWS_PER_PIECE), reader)]:
                batch: Sequence[Sequence[str | None]] = rows
                if any(len(row) != width for row in rows):
                    batch = [[*row, *[None] * width][:width] for row in rows]
                yield header, [pyarrow.array(cells, pyarrow.string()) for cells in zip(*batch)]
    except (OSError, EOFError, csv.Error) as error:
        raise HistoryError(f"{path}: cannot read it as CSV ({error})") from error


def _csv_bytes(path: Path) -> BinaryIO:
    """The file's bytes, through gzip if it is gzipped (by content)."""
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return cast(BinaryIO, gzip.open(path, "rb")) if gzipped else open(path, "rb")


def _parquet_rows(path: Path) -> Iterator[tuple[list[str], list[pyarrow.Array]]]:
    """(column names, columns) per record batch of the Parquet file (read on this thread: for
    batches this small, Arrow's thread pool costs about five times the CPU time)."""
    import pyarrow
    import pyarrow.parquet

    try:
        parquet = pyarrow.parquet.ParquetFile(path)
        header = list(parquet.schema_arrow.names)
        for batch in parquet.iter_batches(batch_size=_ROWS_PER_PIECE, use_threads=False):
            yield header, batch.columns
    except (OSError, pyarrow.ArrowException) as error:
        raise HistoryError(f"{path}: cannot read it as Parquet ({error})") from error
