"""The decoder's fast path (no control-character regex for lines that cannot hold one) decides
exactly like the full schema: same event (same class, same fields) or the same rejection.

The reference below is the plain msgspec decoder of the event structs, with every pattern.
"""

import msgspec
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.model.codec import Rejection, decode_batch_at, decode_line, decode_line_at, decode_record, decode_records
from streams.model.events import EVENT_CLASSES, EVENT_TYPES, AnyEvent

STRICT_LINE = msgspec.json.Decoder(AnyEvent)
STRICT_RECORD = {kind: msgspec.json.Decoder(cls) for kind, cls in EVENT_CLASSES.items()}

# Texts rich in what the patterns are about: control characters, DEL, escapes, newlines.
tricky_text = st.text(alphabet=st.sampled_from(["a", "Z", "-", " ", "é", "\x00", "\x1f", "\x7f", "\n", "\\", '"']), max_size=6)
identifiers = st.sampled_from(["c-1", "e-1", ""]) | tricky_text
currency_like = st.text(alphabet=st.sampled_from(["A", "Z", "a", "É", "ǅ", "Ⅻ", "1", "\n"]), max_size=4)
near_valid = st.fixed_dictionaries(
    {
        "type": st.sampled_from([*EVENT_TYPES, "other"]),
        "event_id": identifiers,
        "customer_id": identifiers,
        "occurred_at": st.sampled_from(["2025-01-01T00:00:00Z", "2025-01-01T00:00:00+02:00", "1999-12-31T23:59:59Z", "2025-01-01"]),
    },
    optional={
        "order_id": identifiers,
        "amount": st.sampled_from([1.5, -1, "1"]),
        # the fast path checks currency codes with string methods instead of the pattern
        "currency": st.sampled_from(["EUR", "eur", "EU\n", "EUR\n"]) | currency_like,
        "categories": st.lists(identifiers, max_size=3),
        "action": st.sampled_from(["open", "click", "nope"]),
        "platform": st.none() | identifiers,
        "campaign_id": st.none() | identifiers,
    },
)


def assert_same_decision(result: object, strict: msgspec.json.Decoder, raw: bytes) -> None:
    try:
        expected = strict.decode(raw)
    except msgspec.DecodeError:
        assert isinstance(result, Rejection)
        return
    if isinstance(result, Rejection):  # only the time checks may reject what the schema accepts
        assert result.reason in ("ancient_timestamp", "future_timestamp")
        return
    assert type(result) is type(expected)
    assert result == expected


@settings(max_examples=2000, deadline=None)
@given(near_valid, st.sampled_from(EVENT_TYPES))
def test_fast_path_decides_like_the_full_schema(record: dict, event_type: str) -> None:
    raw = orjson.dumps(record)
    assert_same_decision(decode_line(raw), STRICT_LINE, raw)
    assert_same_decision(decode_record(raw, event_type), STRICT_RECORD[event_type], raw)


@settings(max_examples=500, deadline=None)
@given(currency_like)
def test_currency_codes_are_checked_like_their_pattern(currency: str) -> None:
    raw = orjson.dumps(
        {"type": "purchase", "event_id": "e-1", "customer_id": "c-1", "occurred_at": "2025-01-01T00:00:00Z"}
        | {"order_id": "o-1", "amount": 1.5, "currency": currency}
    )
    assert_same_decision(decode_line(raw), STRICT_LINE, raw)
    assert_same_decision(decode_record(raw, "purchase"), STRICT_RECORD["purchase"], raw)


@settings(max_examples=500, deadline=None)
@given(near_valid)
def test_raw_del_and_control_bytes(record: dict) -> None:
    """Bytes JSON allows raw (DEL) or forbids (other controls), unescaped in the line."""
    raw = orjson.dumps(record).replace(b"\\u007f", b"\x7f").replace(b"\\u0000", b"\x00")
    assert_same_decision(decode_line(raw), STRICT_LINE, raw)


@given(near_valid)
def test_decode_line_at_adds_the_epoch_seconds(record: dict) -> None:
    raw = orjson.dumps(record)
    decoded, timed = decode_line(raw), decode_line_at(raw)
    if isinstance(decoded, Rejection):
        assert timed == decoded
    else:
        assert timed == (decoded, decoded.occurred_at.timestamp())


def assert_batch_decides_like_each_line(lines: list[bytes]) -> None:
    batch = decode_batch_at(lines)
    one_by_one = [decode_line_at(line) for line in lines]
    if batch is not None:
        assert list(zip(*batch)) == one_by_one
    elif lines and not any(b"\\" in line or b"\x7f" in line for line in lines):
        assert any(isinstance(decoded, Rejection) for decoded in one_by_one)  # plain and valid: never refused


@settings(max_examples=300, deadline=None)
@given(st.lists(near_valid, max_size=12))
def test_decode_batch_at_is_decode_line_at_per_line(records: list[dict]) -> None:
    """A batch is all its lines' events, or None when any line is not one (or not plain)."""
    assert_batch_decides_like_each_line([orjson.dumps(record) for record in records])


# Lines that are not one JSON object each: two on a line, part of one, blank, padded.
pieces = st.sampled_from([b"{", b"}", b"[", b"]", b",", b" ", b"\n", b"\r", b'"a":1', b'"categories":[{}', b"{}"])


@settings(max_examples=500, deadline=None)
@given(st.lists(near_valid | st.lists(pieces, max_size=4).map(b"".join), max_size=8), st.data())
def test_decode_batch_at_never_misaligns_lines(items: list, data) -> None:
    lines = [item if isinstance(item, bytes) else orjson.dumps(item) for item in items]
    if lines and data.draw(st.booleans()):  # split one line in two
        at = data.draw(st.integers(0, len(lines) - 1))
        cut = data.draw(st.integers(0, len(lines[at])))
        lines[at : at + 1] = [lines[at][:cut], lines[at][cut:]]
    assert_batch_decides_like_each_line(lines)


def assert_records_decide_like_each_record(raws: list[bytes], event_type: str) -> None:
    batch = decode_records(raws, event_type)
    one_by_one = [decode_record(raw, event_type) for raw in raws]
    if batch is not None:
        assert batch == one_by_one and [type(event) for event in batch] == [type(event) for event in one_by_one]
    elif raws and not any(b"\\" in raw or b"\x7f" in raw for raw in raws):
        assert any(isinstance(decoded, Rejection) or not isinstance(decoded, EVENT_CLASSES[event_type]) for decoded in one_by_one)


@settings(max_examples=150, deadline=None)
@given(st.lists(near_valid, max_size=12), st.sampled_from(EVENT_TYPES))
def test_decode_records_is_decode_record_per_record(records: list[dict], event_type: str) -> None:
    """A topic's batch is all its records' events, or None when any record is not one of the
    topic's own type (or not plain): the worker then decodes them one by one."""
    assert_records_decide_like_each_record([orjson.dumps(record) for record in records], event_type)


@settings(max_examples=150, deadline=None)
@given(st.lists(near_valid | st.lists(pieces, max_size=4).map(b"".join), max_size=8), st.sampled_from(EVENT_TYPES))
def test_decode_records_never_misaligns_records(items: list, event_type: str) -> None:
    assert_records_decide_like_each_record([item if isinstance(item, bytes) else orjson.dumps(item) for item in items], event_type)
