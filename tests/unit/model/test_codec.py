"""Every record decodes to an event or to a rejection with the right reason."""

import sys
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from streams.model.codec import BUILDERS, Limits, Rejection, decode_batch_at, decode_line, decode_line_at, decode_record
from streams.model.events import EmailEngagement, Login, Purchase

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc).timestamp()
PURCHASE = (
    b'{"event_id":"e1","customer_id":"c1","occurred_at":"2025-05-01T10:00:00+02:00",'
    b'"order_id":"o1","amount":19.5,"currency":"EUR","categories":["shoes"]}'
)


def test_valid_purchase_from_topic_needs_no_type():
    event = decode_record(PURCHASE, "purchase", now=NOW)
    assert isinstance(event, Purchase)
    assert event.amount == 19.5
    assert event.occurred_at == datetime(2025, 5, 1, 8, tzinfo=timezone.utc)


def test_backtest_line_dispatches_on_type():
    login = decode_line(b'{"type":"login","event_id":"e","customer_id":"c","occurred_at":"2025-01-01T00:00:00Z"}')
    email = decode_line(
        b'{"type":"email","event_id":"e","customer_id":"c","occurred_at":"2025-01-01T00:00:00Z","action":"click"}'
    )
    assert isinstance(login, Login)
    assert isinstance(email, EmailEngagement) and email.action == "click"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (None, "malformed_json"),  # a tombstone
        (PURCHASE.replace(b'"c1"', b'"c\xff"'), "malformed_json"),  # not UTF-8 inside a string
        (PURCHASE.replace(b'"c1"', b'"c\xed\xa0\x80"'), "malformed_json"),  # a UTF-8-encoded surrogate
        (PURCHASE.replace(b'"c1"', b'"c\\u0000\xc0\xaf"'), "malformed_json"),  # overlong, behind an escape
        (b"[1, 2]", "wrong_type"),
        (PURCHASE.replace(b'"order_id":"o1",', b""), "missing_field"),
        (PURCHASE.replace(b"19.5", b'"19.5"'), "wrong_type"),
        (PURCHASE.replace(b"19.5", b"-1"), "invalid_value"),
        (PURCHASE.replace(b"+02:00", b""), "invalid_value"),
        (PURCHASE.replace(b'"EUR"', b'"euro"'), "invalid_value"),
        (PURCHASE.replace(b'"c1"', b'""'), "invalid_value"),
        (PURCHASE.replace(b'"c1"', b'"c\\u0000"'), "invalid_value"),
        (PURCHASE.replace(b"2025-05-01", b"2031-05-01"), "future_timestamp"),
        (PURCHASE.replace(b"2025-05-01", b"1969-12-31"), "ancient_timestamp"),
        (b'{"type":"login",' + PURCHASE[1:], "type_mismatch"),
    ],
)
def test_bad_records_are_rejected_with_reason(raw: bytes | None, reason: str):
    result = decode_record(raw, "purchase", now=NOW)
    assert isinstance(result, Rejection)
    assert result.reason == reason, result.detail
    assert result.detail


def test_oversize_payload_is_rejected_before_parsing():
    result = decode_record(PURCHASE, "purchase", now=NOW, limits=Limits(max_payload_bytes=len(PURCHASE) - 1))
    assert result == Rejection("oversize", f"{len(PURCHASE)} bytes exceeds the {len(PURCHASE) - 1}-byte limit")


def test_backtest_line_without_type_is_unknown_type():
    result = decode_line(PURCHASE)
    assert isinstance(result, Rejection) and result.reason == "unknown_type"


def test_future_check_is_skipped_without_a_clock():
    assert isinstance(decode_record(PURCHASE.replace(b"2025-05-01", b"2031-05-01"), "purchase"), Purchase)


@pytest.mark.parametrize(
    "amount", [b"1e999", b"123456789012345678901234567890", b"NaN", b"Infinity", b"1e13"]
)
def test_unrepresentable_amounts_are_rejected(amount: bytes):
    result = decode_record(PURCHASE.replace(b"19.5", amount), "purchase", now=NOW)
    assert isinstance(result, Rejection), result


def test_a_batch_with_a_profile_in_an_unknown_time_zone_is_decided_line_by_line():
    good = b'{"type":"profile","customer_id":"c1","updated_at":"2024-01-01T00:00:00Z","time_zone":"Europe/Berlin"}'
    bad = good.replace(b"Europe/Berlin", b"Mars/Olympus")
    assert decode_line(bad) == Rejection("invalid_value", "time_zone 'Mars/Olympus' is not an IANA time zone")
    assert decode_batch_at([good, bad]) is None
    events, times = decode_batch_at([good, good])
    assert events == [decode_line(good)] * 2 and times == [datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()] * 2


def test_a_batch_with_bytes_that_are_not_utf8_in_a_string_is_decided_line_by_line():
    good = b'{"type":"login","event_id":"e1","customer_id":"c1","occurred_at":"2024-01-01T00:00:00Z"}'
    bad = good.replace(b"e1", b"e\xff")
    assert decode_line(bad).reason == "malformed_json"
    assert decode_batch_at([good, bad]) is None  # the error used to escape the batch decoder


@pytest.mark.parametrize("event_class", sorted(BUILDERS, key=lambda cls: cls.__name__))
def test_each_fast_path_builder_passes_every_field_on(event_class):
    """A field added to an event and forgotten in its builder would silently take its default."""
    item = SimpleNamespace(**{name: f"<{name}>" for name in event_class.__struct_fields__})
    if event_class is Purchase:
        item.currency = "EUR"  # the builder checks it
    built = BUILDERS[event_class](item)
    assert built.__class__ is event_class
    assert {name: getattr(built, name) for name in event_class.__struct_fields__} == vars(item)


# Issue #18, item 1: 2 KB nested 1,000 deep raised RecursionError out of the decoder.
DEEP = PURCHASE[:-1] + b',"extra":' + b"[" * 1000 + b"]" * 1000 + b"}"


@pytest.mark.parametrize(
    "raw",
    [
        DEEP,
        b'{"a":' * 1000 + b"1" + b"}" * 1000,  # objects
        b"[" * 60_000,  # never closed
        b"[" * 1000 + b'"\\"' + b"]" * 1000,  # an escape inside
        b"[[]" * 20_000,  # deep by interleaving, no long run of openers
    ],
)
def test_nesting_past_the_limit_is_rejected_before_parsing(raw: bytes):
    expected = Rejection("too_deep", "arrays and objects nested more than 32 deep")
    assert decode_record(raw, "purchase", now=NOW) == expected
    assert decode_line(raw) == expected
    assert decode_line_at(raw) == expected


def test_brackets_inside_strings_do_not_count_and_32_levels_are_allowed():
    in_strings = PURCHASE.replace(b'["shoes"]', b'["' + b"[{" * 5000 + b'", "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]')
    assert decode_record(in_strings, "purchase", now=NOW).reason == "invalid_value"  # a category over 64 characters
    at_limit = PURCHASE[:-1] + b',"extra":' + b"[" * 31 + b"]" * 31 + b"}"
    assert isinstance(decode_record(at_limit, "purchase", now=NOW), Purchase)
    assert decode_record(at_limit.replace(b"[]", b"[[]]"), "purchase", now=NOW).reason == "too_deep"


def test_a_deep_record_gets_the_same_verdict_however_deep_the_caller_s_stack_is():
    """What catching RecursionError would not give: 100 frames from the interpreter's limit,
    msgspec itself would raise it on this 150-deep record, which it parses fine at the top."""
    deep = DEEP.replace(b"[" * 1000 + b"]" * 1000, b"[" * 150 + b"]" * 150)

    def at_depth(frames: int) -> object:
        return at_depth(frames - 1) if frames else decode_record(deep, "purchase", now=NOW)

    assert at_depth(sys.getrecursionlimit() - 100) == at_depth(0) == Rejection(
        "too_deep", "arrays and objects nested more than 32 deep"
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (PURCHASE.replace(b"19.5", b"NaN"), "malformed_json"),
        (PURCHASE.replace(b"19.5", b"-Infinity"), "malformed_json"),
        (PURCHASE.replace(b"19.5", b"9" * 5000), "invalid_value"),  # a number with 5,000 digits
        (PURCHASE.replace(b"19.5", b"1e400"), "invalid_value"),
        (PURCHASE.replace(b'"c1"', b"1" + b"0" * 400), "invalid_value"),  # too big to read, where a string belongs
        (PURCHASE.replace(b"2025-05-01T10:00:00+02:00", b"2025-05-01T23:59:60Z"), "invalid_value"),  # leap second
        (PURCHASE.replace(b"2025-05-01T10:00:00+02:00", b"0001-01-01T00:00:00+23:59"), "ancient_timestamp"),
        (PURCHASE.replace(b"2025-05-01T10:00:00+02:00", b"9999-12-31T23:59:59-23:59"), "future_timestamp"),
        (PURCHASE.replace(b"2025-05-01T10:00:00+02:00", b"+12025-05-01T10:00:00Z"), "invalid_value"),
        (b"\xef\xbb\xbf" + PURCHASE, "malformed_json"),  # a byte-order mark
        (PURCHASE.decode().encode("utf-16"), "malformed_json"),
    ],
)
def test_numbers_dates_and_encodings_json_cannot_hold_are_rejected(raw: bytes, reason: str):
    result = decode_record(raw, "purchase", now=NOW)
    assert isinstance(result, Rejection) and result.reason == reason, result


def test_a_tombstone_key_becomes_an_erasure_at_the_record_s_time():
    from streams.model.codec import decode_erasure
    from streams.model.events import Erasure

    erasure = decode_erasure("c-ü".encode(), 1_717_000_000.5)
    assert isinstance(erasure, Erasure) and erasure.customer_id == "c-ü"
    assert erasure.occurred_at.timestamp() == 1_717_000_000.5


def test_a_tombstone_without_a_usable_key_is_rejected_with_the_reason():
    from streams.model.codec import decode_erasure

    reasons = [decode_erasure(key, 1_717_000_000.0) for key in (None, b"\xff\xfe", b"", b"a\x00b", b"x" * 129)]
    assert [getattr(reason, "reason", None) for reason in reasons] == [
        "missing_field", "malformed_json", "invalid_value", "invalid_value", "invalid_value"
    ]


def test_any_time_from_the_epoch_on_is_accepted_and_a_floor_names_itself():
    epoch = PURCHASE.replace(b"2025-05-01T10:00:00+02:00", b"1970-01-01T00:00:00Z")
    assert isinstance(decode_record(epoch, "purchase", now=NOW), Purchase)
    before = decode_record(PURCHASE.replace(b"2025-05-01T10:00:00+02:00", b"1969-12-31T23:59:59Z"), "purchase", now=NOW)
    assert before == Rejection(
        "ancient_timestamp", "occurred_at 1969-12-31T23:59:59+00:00 is before 1970-01-01T00:00:00+00:00 (the Unix epoch)"
    )
    floor = Limits(earliest_event=datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp(), earliest_named="WINBACK_EARLIEST_EVENT")
    nineties = PURCHASE.replace(b"2025-05-01", b"1999-05-01")
    assert decode_record(nineties, "purchase", now=NOW, limits=floor) == Rejection(
        "ancient_timestamp", "occurred_at 1999-05-01T10:00:00+02:00 is before 2000-01-01T00:00:00+00:00 (WINBACK_EARLIEST_EVENT)"
    )
    assert decode_batch_at([b'{"type":"purchase",' + nineties[1:]], now=NOW, limits=floor) is None  # the same rule
    assert decode_batch_at([b'{"type":"purchase",' + nineties[1:]], now=NOW) is not None
