"""A history file as per-customer batches of decoded events.

A backtest replays each customer on their own, so an event log is read in two passes:

1. every line is filed under its customer without being decoded: the customer id is read
   from the bytes (``"customer_id":"...``), which is exact for a line with no backslash and
   only one ``"customer_id"`` (any other line is decoded on its own and filed by the id it holds);
2. one customer at a time, the customer's lines are decoded in one call
   (``codec.decode_batch_at``; line by line when the batch holds a bad line) and put in
   (time, event id) order.

A customer's events are decoded together, so they sit together in memory while the customer
is replayed, and the caller can drop them right after instead of holding the whole decoded
history.  Rejected lines are collected with their line numbers.

A filed log can be dealt into ``parts``, logs of some of its customers each, for several
processes to share a backtest (``streams.backtest.workers``): the file is read and filed once,
and each customer keeps their ``order``, their place among the customers of the whole log.
"""

from __future__ import annotations

import copy
import gzip
import zlib
from dataclasses import replace
from bisect import bisect_left
from itertools import compress, count, islice
from pathlib import Path
from operator import attrgetter, eq, le
from typing import Any, Iterable, Iterator, cast

from streams.model.codec import DEFAULT_LIMITS, Limits, Rejection, decode_batch_at, decode_line_at
from streams.model.events import AnyInput

_OCCURRED_AT = attrgetter("occurred_at")
_EVENT_ID = attrgetter("event_id")
_KEY = b'"customer_id"'
_KEY_VALUE = b'"customer_id":"'  # as msgspec, orjson and most encoders write it (json.dumps's
# spaced form is decoded line by line, as every other line that is not filed by its bytes)
_BATCH_LINES = 4096  # lines filed per round (one scan each for backslashes and keys)
_DECODE_LINES = 2048  # lines of several customers decoded in one call


class EventFileError(Exception):
    """An event file that cannot be read at all: missing, a directory, unreadable, or a damaged gzip.

    Bad lines are rejected one by one and counted; this is for a file with no usable lines to
    give, where a report on what was read before the failure would mislead.  The message
    names the file, says what is wrong and what to do, in one line.
    """


def read_text(path: Path, piece_bytes: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of a JSON-lines file, gunzipped when it is gzip (by content, not name), in
    pieces of about ``piece_bytes`` that end at line ends (but for the last, if the file does not).

    Raises ``EventFileError`` when the file cannot be read to its end.
    """
    try:
        with open(path, "rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as text:
            while piece := text.read(piece_bytes):
                yield piece if piece.endswith(b"\n") else piece + text.readline()
    except (OSError, EOFError, zlib.error) as error:
        raise EventFileError(f"{path}: {_why_unreadable(path, error)}") from error


def _why_unreadable(path: Path, error: OSError | EOFError | zlib.error) -> str:
    """What is wrong with the file and what to do, for ``EventFileError``."""
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return "is a directory - give the event file itself"
    if isinstance(error, PermissionError):
        return "permission denied - make it readable (chmod +r) or run as a user who can read it"
    if isinstance(error, EOFError):  # the compressed stream stops before its end marker
        size = path.stat().st_size
        return f"not a valid gzip file (truncated at byte {size}?) - it ends before its data does; copy or export it again"
    if isinstance(error, (gzip.BadGzipFile, zlib.error)):
        return f"not a valid gzip file ({error}) - the compressed data is damaged; copy or export it again"
    return f"cannot read it ({error.strerror or error})"


class CustomerEvents:
    """One customer's valid events in (time, event id) order, their times in epoch seconds, and
    the customer's ``order``: their place among the log's customers, by first line; read in
    arrival order, the events are in line order, with each one's line number (``lines``)."""

    __slots__ = ("customer_id", "events", "times", "order", "lines")

    def __init__(
        self, customer_id: str, events: list[AnyInput], times: list[float], order: int = 0, lines: list[int] | None = None
    ) -> None:
        self.customer_id = customer_id
        self.events = events
        self.times = times
        self.order = order
        self.lines = lines


class EventLog:
    """The lines of a history filed per customer; ``customers()`` decodes them one customer at a time.

    ``EventLog(lines)`` numbers every item of ``lines`` as one line, as given;
    ``EventLog.from_text(pieces)`` reads text that comes in pieces ending at line ends and,
    skips blank lines without numbering them.  ``now``: the time a line may be dated at most
    ``limits.max_future_skew_seconds`` after (None: no such check), as in ``codec``.
    ``arrival_order``: each customer's events stay in line order, with their line numbers.
    """

    def __init__(
        self,
        lines: Iterable[bytes] = (),
        *,
        limits: Limits = DEFAULT_LIMITS,
        now: float | None = None,
        arrival_order: bool = False,
    ) -> None:
        self.limits = limits
        self.now = now
        self.arrival_order = arrival_order
        self.rejections: list[tuple[int, Rejection]] = []  # (line number, why); in line order once read
        # Customer id -> the number and the line, one after the other, of each line filed under
        # it, with the customers in order of their first line.  One flat list a customer: filing
        # touches one customer's object a line, which costs a cache miss or so each, not three.
        self._files: dict[bytes, list[int | bytes]] = {}
        self._alone: dict[bytes, list[tuple[int, AnyInput, float]]] = {}  # events of lines decoded on their own
        self._orders: list[int] | None = None  # a part's: each customer's place among the whole log's
        self._terminator = b""  # what each line had after it before it was split off
        self._unterminated = 0  # number of the one line without the terminator (the text's last), if any
        self._blanks: list[int] = []  # positions of the skipped blank lines
        self._count = 0  # lines seen (blank ones included)
        self._fast_limits = limits
        lines = iter(lines)
        while batch := list(islice(lines, _BATCH_LINES)):
            self._file(batch, b"\n".join(batch))

    @classmethod
    def from_text(
        cls,
        pieces: Iterable[bytes],
        *,
        limits: Limits = DEFAULT_LIMITS,
        now: float | None = None,
        arrival_order: bool = False,
    ) -> EventLog:
        log = cls(limits=limits, now=now, arrival_order=arrival_order)
        log._terminator = b"\n"
        # A line is one byte longer with its terminator: the batches keep within the limit
        # with it (a line at the very limit is decided on its own).
        log._fast_limits = replace(limits, max_payload_bytes=limits.max_payload_bytes - 1)
        for piece in filter(None, pieces):
            lines = piece.split(b"\n")
            if piece.endswith(b"\n"):
                lines.pop()
            else:
                log._unterminated = log._count + len(lines)
            log._file(lines, piece)
        return log

    def _file(self, lines: list[bytes], text: bytes) -> None:
        """File one run of lines (``text``: the same bytes, for the scans that are quicker on
        one buffer than on each line)."""
        files, alone, first = self._files, [], self._count + 1
        self._count += len(lines)
        get, skip = files.get, len(_KEY_VALUE)
        starts = [line.find(_KEY_VALUE) for line in lines]
        # Each line with the key-value form holds the key at least once, so when the text
        # holds the key no more often than that, each holds it exactly once; with no backslash
        # anywhere, what follows it up to the next quote is then the customer id, exactly.
        if b"\\" in text or text.count(_KEY) != len(starts) - starts.count(-1):
            starts = list(map(_start_if_exact, lines, starts))
        for number, start, line in zip(count(first), starts, lines):
            if start < 0:
                alone.append((number, line))
                continue
            start += skip
            key = line[start : line.find(b'"', start)]
            filed = get(key)
            if filed is None:
                files[key] = filed = []
            filed.append(number)
            filed.append(line)
        for number, line in alone:
            raw = self._raw(number, line)
            if self._terminator and raw.isspace():
                self._blanks.append(number)
                continue
            decoded = decode_line_at(raw, now=self.now, limits=self.limits)
            if isinstance(decoded, Rejection):
                self.rejections.append((number, decoded))
                continue
            event, at = decoded
            key = event.customer_id.encode("utf-8", "surrogatepass")
            files.setdefault(key, [])  # the customer's place in the order of first lines
            self._alone.setdefault(key, []).append((number, event, at))

    def _raw(self, number: int, line: bytes) -> bytes:
        """The line as it was read, terminator included (its length is checked against the limit)."""
        return line if number == self._unterminated else line + self._terminator

    def customers(self) -> Iterator[CustomerEvents]:
        """Each customer with at least one valid event, in order of their first line.

        Every customer's lines are released as the customer is decoded; once this is exhausted,
        ``rejections`` holds every rejected line, in line order.
        """
        files, alone = self._files, self._alone
        chunk: list[tuple[int, list[int | bytes], list[tuple[int, AnyInput, float]]]] = []
        lines = 0
        for order, key in zip(count() if self._orders is None else self._orders, list(files)):
            filed = files.pop(key)
            chunk.append((order, filed, alone.pop(key, [])))
            lines += len(filed)
            if lines >= 2 * _DECODE_LINES:  # (a number and a line each)
                yield from self._decode_chunk(chunk)
                chunk, lines = [], 0
        yield from self._decode_chunk(chunk)
        blanks = self._blanks
        self.rejections = sorted((number - bisect_left(blanks, number), why) for number, why in self.rejections)

    def parts(self, number: int) -> list[EventLog]:
        """The customers dealt in turn (by their order) into ``number`` logs, to be read as this one
        would be: each customer keeps their order, the first part the lines rejected so far.
        This log is left empty: its customers are the parts' now."""
        keys = list(self._files)
        orders = range(len(keys)) if self._orders is None else self._orders
        parts = [copy.copy(self) for _ in range(number)]  # sharing this log's files until each keeps its own
        for index, part in enumerate(parts):
            part.keep(keys[index::number], list(orders[index::number]), rejected=index == 0)
        self._files, self._alone, self.rejections = {}, {}, []
        return parts

    def keep(self, keys: list[bytes], orders: list[int], rejected: bool) -> None:
        """Keep only the customers of ``keys``, at ``orders`` among the whole log's, and the lines
        rejected so far if ``rejected`` (a part's customers: ``parts``)."""
        files, alone = self._files, self._alone
        self._files = {key: files[key] for key in keys}
        self._alone = {key: alone[key] for key in keys if key in alone}
        self._orders = orders
        self.rejections = list(self.rejections) if rejected else []

    def _decode_chunk(
        self, chunk: list[tuple[int, list[int | bytes], list[tuple[int, AnyInput, float]]]]
    ) -> Iterator[CustomerEvents]:
        """The customers of ``chunk`` (order, filed lines, events decoded on their own), their
        filed lines decoded in one call: a sparse log's customers have a few lines each, and a
        call per customer would cost more than their decoding.  When any line of the chunk is
        bad, each customer is decoded on their own."""
        batch = self._decode_lines([line for _, filed, _ in chunk for line in cast("list[bytes]", filed[1::2])])
        start = 0
        for order, filed, numbered in chunk:
            end = start + len(filed) // 2
            if batch is None:
                own = self._decode_lines(cast("list[bytes]", filed[1::2]))
            else:
                own = (batch[0][start:end], batch[1][start:end]) if end > start else None
            customer = self._decode(filed, numbered, own)
            start = end
            if customer is not None:
                customer.order = order
                yield customer

    def _decode_lines(self, lines: list[bytes]) -> tuple[list[AnyInput], list[float]] | None:
        """The events and times of ``lines`` decoded in one call, or None (no lines, or a bad one among them)."""
        return decode_batch_at(lines, now=self.now, limits=self._fast_limits) if lines else None

    def _decode(
        self, filed: list[int | bytes], numbered: list[tuple[int, AnyInput, float]], batch: tuple[list[AnyInput], list[float]] | None
    ) -> CustomerEvents | None:
        """The customer's events from their ``filed`` lines and those decoded on their own;
        ``batch``: the filed lines' events and times (None: decode them line by line)."""
        if batch is not None and not numbered:  # the usual case: every line decoded in the batch
            events, times = batch
            numbers = cast("list[int]", filed[0::2]) if self.arrival_order else []  # (the flat list alternates numbers and lines)
        else:
            numbers, events, times = self._decode_apart(filed, numbered, batch)
            if not events:
                return None
        if self.arrival_order:
            return CustomerEvents(events[0].customer_id, events, times, lines=numbers)
        if not _in_order(events, times):
            # Epoch seconds never order two instants the other way round, so sorting on them
            # first is sorting on (time, id), with quick float comparisons for all but ties.
            keys = list(zip(times, map(_OCCURRED_AT, events), map(_EVENT_ID, events)))
            order = sorted(range(len(keys)), key=keys.__getitem__)  # stable: line order on full ties
            events = [events[index] for index in order]
            times = [times[index] for index in order]
        return CustomerEvents(events[0].customer_id, events, times)


    def _decode_apart(
        self, filed: list[int | bytes], numbered: list[tuple[int, AnyInput, float]], batch: tuple[list[AnyInput], list[float]] | None
    ) -> tuple[list[int], list[AnyInput], list[float]]:
        """The numbers, events and times of the customer's valid lines, in line order, when some
        were decoded on their own or the batch held a bad line (then every line is decoded alone)."""
        numbers = cast("list[int]", filed[0::2])
        if batch is not None:
            numbered += zip(numbers, *batch)
        else:
            for number, line in zip(numbers, cast("list[bytes]", filed[1::2])):
                decoded = decode_line_at(self._raw(number, line), now=self.now, limits=self.limits)
                if isinstance(decoded, Rejection):
                    self.rejections.append((number, decoded))
                else:
                    numbered.append((number, *decoded))
        numbered.sort(key=_first)  # line order, as if every line had been decoded in turn
        return [number for number, _, _ in numbered], [event for _, event, _ in numbered], [at for _, _, at in numbered]


def _in_order(events: list[AnyInput], times: list[float]) -> bool:
    """Whether ``events`` are in (time, event id) order already (line order on full ties).

    Their epoch seconds must never go down; where two are equal, as for a profile and the
    event it came with, the instants and ids decide.  Only those few pairs are compared in
    full: customers whose lines are in order, the usual case, need no sorting.
    """
    if len(times) < 2:  # (most customers of a sparse log)
        return True
    later = islice(times, 1, None)
    if not all(map(le, times, later)):
        return False
    for index in compress(count(), map(eq, times, islice(times, 1, None))):
        earlier, event = events[index], events[index + 1]
        if (event.occurred_at, event.event_id) < (earlier.occurred_at, earlier.event_id):
            return False
    return True


def _start_if_exact(line: bytes, start: int) -> int:
    """``start`` if the customer id after it is exactly the line's, else -1."""
    return start if b"\\" not in line and line.count(_KEY) == 1 else -1


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]
