"""A batch of a shop's export (CSV or Parquet columns) as the JSON lines of its events, a column at a time.

Each row becomes the JSON object the backtest reads: each field's value unless it is missing
or empty, converted as an export needs (``field_value``: a time to RFC 3339, an amount to a
number, a category to a list, anything else to a string), and a purchase's defaults (its type,
an unknown currency, the order id as the event id or the other way round).

Reading an export row by row cost about five times what reading JSON lines costs, mostly in
building a dict and converting each value in Python.  Here each column's values become their
JSON texts at once: Arrow's compute kernels do it for the values whose text they give exactly
as ``field_value`` would (plain strings, integers, numbers, whole-second times, ISO times
without fractions), and ``field_value`` itself does it for the rest, once per distinct value.
The rows' lines are then joined by kernels too, and the batch comes out as one piece of text.
A timestamp outside the years 1-9999 (which ``datetime`` cannot hold) gets a text that is not
RFC 3339 (``10000-01-0T 00:00:00``), so the codec rejects its row as ``invalid_value``, with
its place in its file, like any other bad time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

import msgspec
import pyarrow
import pyarrow.compute as pc

DEFAULT_TYPE = "purchase"  # an export of orders is the common case: a row without a type is a purchase
NO_CURRENCY = "XXX"  # ISO 4217's "no currency": the amount's currency is not in the file
_TIME = "%Y-%m-%dT%H:%M:%S"
_UTC = "+00:00"  # as datetime.isoformat writes UTC
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'  # what JSON escapes in a string
_ESCAPED_BYTES = bytes(range(0x20)) + b'"\\'  # the same bytes
_ISO_SECONDS = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$"  # a time without fraction or offset
_DECIMAL = r"^-?\d{1,15}(\.\d{1,15})?$"  # a number float() and Arrow read to the same double
_ENCODER = msgspec.json.Encoder()
# Values whose conversion is the same whenever they are equal (not so floats: -0.0 == 0.0).
_SAME_TEXT_WHEN_EQUAL = frozenset({str, int, datetime, date})


def export_lines(columns: Sequence[tuple[str, pyarrow.Array]], time_format: str | None) -> bytes:
    """The JSON lines, each ending in a newline, of the rows of ``columns`` ((field, column) pairs
    of equal length, at least one row, in the order of the line's fields)."""
    texts = {name: json_texts(name, column, time_format) for name, column in columns}
    rows = len(columns[0][1])
    fields = [(name, text) for name, text in [*texts.items(), *_purchase_defaults(texts, rows)] if text.null_count < rows]
    # Each row has its type, given or by default: no row's fields are all null, which Arrow
    # would drop instead of joining into an empty text when skipping nulls.
    body = pc.binary_join_element_wise(*(pc.binary_join_element_wise(f'"{name}":', text, "") for name, text in fields), ",", null_handling="skip")
    return _concatenated(pc.binary_join_element_wise("{", body, "}\n", ""))


def _purchase_defaults(texts: dict[str, pyarrow.Array], rows: int) -> list[tuple[str, pyarrow.Array]]:
    """What each row's line holds after its own fields, as the row's dict was filled in: a row
    without a type is a purchase; a purchase without a currency has ``NO_CURRENCY``; one with an
    event id and no order id has the event id as its order id, and the other way round."""
    nothing = pyarrow.nulls(rows, pyarrow.string())
    given = texts.get("type", nothing)
    purchase = pc.fill_null(pc.equal(given, f'"{DEFAULT_TYPE}"'), True)
    currency, event, order = (texts.get(name, nothing) for name in ("currency", "event_id", "order_id"))
    return [
        ("type", pc.if_else(pc.is_null(given), f'"{DEFAULT_TYPE}"', nothing)),
        ("currency", pc.if_else(pc.and_(purchase, pc.is_null(currency)), f'"{NO_CURRENCY}"', nothing)),
        ("order_id", pc.if_else(pc.and_(purchase, pc.is_null(order)), event, nothing)),
        ("event_id", pc.if_else(pc.and_(purchase, pc.is_null(event)), order, nothing)),
    ]


def _concatenated(texts: pyarrow.Array) -> bytes:
    """The non-null texts one after the other: the bytes between their first and last offsets."""
    _, offsets, data = texts.buffers()
    bounds = pyarrow.Array.from_buffers(pyarrow.int32(), len(texts) + 1, [None, offsets], offset=texts.offset)
    return bytes(data[bounds[0].as_py() : bounds[-1].as_py()])


def json_texts(name: str, column: pyarrow.Array, time_format: str | None) -> pyarrow.Array:
    """The JSON text of each value of the field's column as ``field_value`` converts it, null for
    a value missing or empty (the row leaves the field out)."""
    if pyarrow.types.is_dictionary(column.type):  # (a pandas category column, say)
        column = column.dictionary_decode()
    if pyarrow.types.is_large_string(column.type) or pyarrow.types.is_string_view(column.type):
        column = column.cast(pyarrow.string())
    if pyarrow.types.is_string(column.type):
        column = pc.if_else(pc.equal(column, ""), None, column)
    fast = _kernel_texts(name, column, time_format)
    if fast is not None and fast.null_count == column.null_count:
        return fast
    return _texts_of_values(name, column, fast, time_format)


def _kernel_texts(name: str, column: pyarrow.Array, time_format: str | None) -> pyarrow.Array | None:
    """The texts the kernels give exactly, null where they cannot (None: none of them can)."""
    kind = column.type
    if name == "occurred_at":
        return None if time_format else _time_texts(column)
    if name == "amount":
        return _number_texts(column)
    if pyarrow.types.is_integer(kind) and name != "categories":
        return pc.binary_join_element_wise('"', column.cast(pyarrow.string()), '"', "")
    if not pyarrow.types.is_string(kind):
        return None
    plain = pc.if_else(pc.match_substring_regex(column, _NEEDS_ESCAPE), None, column) if _may_need_escapes(column) else column
    opening, closing = ('["', '"]') if name == "categories" else ('"', '"')  # a category: a list of one
    return pc.binary_join_element_wise(opening, plain, closing, "")


def _may_need_escapes(strings: pyarrow.Array) -> bool:
    """Whether the strings' bytes (or more, for a slice) hold a byte JSON escapes: most columns
    hold none, and deleting such bytes in one pass is quicker than the regex on every value."""
    data = strings.buffers()[2]
    return data is not None and len(bytes(data).translate(None, _ESCAPED_BYTES)) != data.size


def _time_texts(column: pyarrow.Array) -> pyarrow.Array | None:
    """RFC 3339 in UTC of naive or UTC timestamps in whole seconds, dates, and ISO strings of a
    naive time in whole seconds (as ``datetime.isoformat`` writes them, with ``+00:00``)."""
    kind = column.type
    if pyarrow.types.is_timestamp(kind) and kind.unit in ("s", "ms", "us") and kind.tz in (None, "UTC", "+00:00"):
        return _quoted(_iso_seconds(pc.if_else(pc.equal(pc.subsecond(column), 0), column, None)), _UTC)
    if pyarrow.types.is_date(kind):
        return _quoted(column.cast(pyarrow.string()), "T00:00:00" + _UTC)
    if not pyarrow.types.is_string(kind):
        return None
    iso = pc.if_else(pc.match_substring_regex(column, _ISO_SECONDS), column, None)
    iso = pc.utf8_replace_slice(iso, 10, 11, "T")
    # Arrow's parser moves an impossible date (30 February) on; datetime rejects it: such a
    # time does not read back as it was written and is left to ``field_value``.
    read = _iso_seconds(pc.strptime(iso, _TIME, "s", error_is_null=True))
    return _quoted(pc.if_else(pc.equal(read, iso), iso, None), _UTC)


def _iso_seconds(moments: pyarrow.Array) -> pyarrow.Array:
    """``YYYY-MM-DDTHH:MM:SS`` of timestamps, their fractions of seconds left out (Arrow's cast
    to text writes a space for the ``T``; its ``strftime`` takes twenty times as long)."""
    return pc.utf8_replace_slice(moments.cast(pyarrow.timestamp("s"), safe=False).cast(pyarrow.string()), 10, 11, "T")


def _number_texts(column: pyarrow.Array) -> pyarrow.Array | None:
    """The JSON numbers of integer and float columns, and of decimal strings, as msgspec writes them."""
    kind = column.type
    if pyarrow.types.is_string(kind):
        column = pc.if_else(pc.match_substring_regex(column, _DECIMAL), column, None).cast(pyarrow.float64())
    elif not (pyarrow.types.is_integer(kind) or pyarrow.types.is_floating(kind)):
        return None
    # Numbers (and null, for NaN) hold no comma: the list's text splits into the values' texts.
    texts = _ENCODER.encode(column.to_pylist())[1:-1].split(b",")
    return pc.if_else(column.is_valid(), pyarrow.array(texts, pyarrow.binary()).cast(pyarrow.string()), None)


def _quoted(texts: pyarrow.Array, suffix: str) -> pyarrow.Array:
    return pc.binary_join_element_wise('"', texts, suffix + '"', "")


def _texts_of_values(name: str, column: pyarrow.Array, fast: pyarrow.Array | None, time_format: str | None) -> pyarrow.Array:
    """The texts of ``fast`` where it has them, and ``field_value``'s JSON for the other values (once each)."""
    values = column.to_pylist()
    done = [False] * len(values) if fast is None else fast.is_valid().to_pylist()
    texts: dict[Any, bytes] = {}
    slow: list[bytes | None] = []
    for value, ready in zip(values, done):
        if ready or value is None:
            slow.append(None)
            continue
        key = (type(value), value) if type(value) in _SAME_TEXT_WHEN_EQUAL else None
        text = texts.get(key) if key is not None else None
        if text is None:
            text = _ENCODER.encode(field_value(name, value, time_format))
            if key is not None:
                texts[key] = text
        slow.append(text)
    converted = pyarrow.array(slow, pyarrow.binary()).cast(pyarrow.string())
    return converted if fast is None else pc.if_else(fast.is_valid(), fast, converted)


def field_value(name: str, value: Any, time_format: str | None) -> Any:
    """A field's value (not missing or empty) as the JSON line holds it, for the codec to check."""
    if name == "occurred_at":
        return _time(value, time_format)
    if name == "amount":
        return _number(value)
    if name == "categories":
        return [value] if isinstance(value, str) else value
    return value if isinstance(value, str) else str(value)


def _time(value: Any, time_format: str | None) -> Any:
    """RFC 3339 of a time cell (naive: UTC); what cannot be read is passed on for the codec to reject."""
    if isinstance(value, str):
        try:
            value = datetime.strptime(value, time_format) if time_format else datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, date) and not isinstance(value, datetime):  # a day: its start, UTC
        value = datetime.combine(value, time(), timezone.utc)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    return value


def _number(value: Any) -> Any:
    """A number cell as a number; what is no number is passed on for the codec to reject."""
    if isinstance(value, (str, Decimal)):
        try:
            return float(value)
        except ValueError:
            return value
    return value
