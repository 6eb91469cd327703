"""Hostile input records, each with the dead-letter reason it must get, from three sources:

- ``RECIPES``: seeded functions that break a valid event of the topic in one way real producers
  break records: cut short, mistyped, missing fields, huge, bad UTF-8 or escapes, control
  characters, impossible, future or ancient timestamps, unknown types, null bytes, tombstones;
- ``MUTATIONS``: hypothesis strategies for the decode failure classes with a range of values
  (nesting depth, non-finite and huge numbers, dates, bytes that are not UTF-8, JSON types),
  drawn deterministically by ``generated``;
- ``HAND_WRITTEN``: one case per issue item it pins (issue #18), named after it.  To add one,
  append a function of the valid documents by topic kind that returns ``Hostile`` records.
  Those of items 3, 6 and 7 are records that must be *applied* (reason None), in their order
  and after the rest: an opt-out sharing an event id, a tombstone, consent withdrawals.

The expected reason is part of the recipe, not computed by the codec under test.  Every
record carries headers, which its dead letter must keep.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, NamedTuple

import msgspec
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

Document = dict[str, Any]


class Hostile(NamedTuple):
    topic_kind: str  # purchase, login, email or profile: the input topic it is sent to
    key: bytes | None
    value: bytes | None  # None: a tombstone
    reason: str | None  # the winback.dlq.reason it must be dead-lettered with; None: it must be applied
    case: str = ""  # the recipe, mutation or hand-written case it comes from
    headers: tuple[tuple[str, bytes | None], ...] = ()


def hostile_record(rng: random.Random, kind: str, valid: Document, good_keys: list[bytes]) -> Hostile:
    """One hostile record derived from ``valid``, a valid event of ``kind``'s topic."""
    recipe = rng.choice(RECIPES)
    value, reason = recipe(rng, kind, dict(valid))
    key = _key(rng, good_keys, keyed=value is None or kind == "profile")
    return Hostile(kind, key, value, reason, recipe.__name__.lstrip("_"), _trace(rng))


def _trace(rng: random.Random) -> tuple[tuple[str, bytes | None], ...]:
    """A W3C trace header, as a traced producer sends it (issue #18, item 15: dead letters dropped it)."""
    return (("traceparent", f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01".encode()),)


def _key(rng: random.Random, good_keys: list[bytes], keyed: bool) -> bytes | None:
    """Keys are opaque to ingest and copied to the dead letter: none, empty, binary or a real customer's.

    A tombstone, and any record on the compacted profiles topic, has a key (the broker refuses
    unkeyed records on a compacted topic, so they never reach a worker).
    """
    binary = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    return rng.choice([binary, rng.choice(good_keys)] if keyed else [None, b"", binary, rng.choice(good_keys)])


def _json(document: Any) -> bytes:
    """JSON with non-ASCII as raw UTF-8 (control characters still escaped, DEL raw, as JSON allows)."""
    return json.dumps(document, ensure_ascii=False).encode()


def _truncated(rng: random.Random, kind: str, doc: Document) -> tuple[bytes, str]:
    raw = _json(doc)
    return raw[: rng.randrange(1, len(raw))], "malformed_json"


def _not_json(rng: random.Random, kind: str, doc: Document) -> tuple[bytes, str]:
    garbage = [b"not json at all", b"{'event_id': 'x'}", b'{"event_id":"x",}', b"{,}", b"NaN", b"\xef\xbb\xbf{}", b""]
    return rng.choice(garbage), "malformed_json"


def _null_bytes(rng: random.Random, kind: str, doc: Document) -> tuple[bytes, str]:
    raw = _json(doc)
    at = rng.randrange(len(raw) + 1)
    return raw[:at] + b"\x00" * rng.randrange(1, 4) + raw[at:], "malformed_json"


def _bad_utf8(rng: random.Random, kind: str, doc: Document) -> tuple[bytes, str]:
    """Bytes that are not UTF-8 inside a string: invalid start, overlong, cut sequence, lone surrogate escape."""
    broken = rng.choice([b"\xff\xfe", b"\xc0\xaf", b"\xe2\x82", b"\xed\xa0\x80", b"\\ud800", b"\\udfff\\ud800"])
    doc["customer_id"] = "@@"
    return _json(doc).replace(b'"@@"', b'"cust-' + broken + b'"'), "malformed_json"


def _wrong_type(rng: random.Random, kind: str, doc: Document) -> tuple[bytes, str]:
    if rng.random() < 0.2:
        return _json(rng.choice([[doc], 42, None, "purchase", 3.5, True])), "wrong_type"
    field = rng.choice(_TYPED_FIELDS[kind])
    doc[field] = rng.choice(_WRONG_VALUES[field])
    return _json(doc), "wrong_type"


def _missing_field(rng: random.Random, kind: str, doc: Document) -> tuple[bytes, str]:
    del doc[rng.choice(_REQUIRED[kind])]
    return _json(doc), "missing_field"


def _huge_string(rng: random.Random, kind: str, doc: Document) -> tuple[bytes, str]:
    if rng.random() < 0.05:  # a few past the payload limit: 64 KiB of one string
        doc["customer_id"] = "x" * rng.randrange(65_536, 80_000)
        return _json(doc), "oversize"
    doc[rng.choice(["customer_id", _ID_FIELD[kind]])] = rng.choice("x€😀") * rng.randrange(129, 5_000)
    return _json(doc), "invalid_value"


def _control_chars(rng: random.Random, kind: str, doc: Document) -> tuple[bytes, str]:
    """An identifier carrying a control character, escaped (JSON forbids them raw) or a raw DEL."""
    control = rng.choice(["\u0000", "\u001b", "\n", "\t", "\u007f"])
    doc["customer_id"] = f"cust{control}{rng.randrange(1000)}"
    return _json(doc), "invalid_value"


def _bad_timestamp(rng: random.Random, kind: str, doc: Document) -> tuple[bytes, str]:
    field = "updated_at" if kind == "profile" else "occurred_at"
    choice = rng.randrange(3)
    if choice == 0:
        doc[field] = f"{rng.randrange(2100, 10_000):04d}-06-01T00:00:00Z"
        return _json(doc), "future_timestamp"
    if choice == 1:
        doc[field] = rng.choice(["0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:59:59+01:00"])
        return _json(doc), "ancient_timestamp"
    doc[field] = rng.choice(
        ["2024-05-01T10:00:00", "2024-05-01 10:00:00", "2024-02-30T00:00:00Z", "2024-05-01T10:00:00+25:00", "yesterday"]
    )
    return _json(doc), "invalid_value"


def _unknown_type(rng: random.Random, kind: str, doc: Document) -> tuple[bytes, str]:
    others = [name for name in ("purchase", "login", "email", "profile") if name != kind]
    doc["type"] = rng.choice([*others, "refund", "", "PURCHASE", "😀"])
    return _json(doc), "type_mismatch"


def _bad_value(rng: random.Random, kind: str, doc: Document) -> tuple[bytes, str]:
    field, value = rng.choice(_BAD_VALUES[kind])
    doc[field] = value
    return _json(doc), "invalid_value"


def _tombstone(rng: random.Random, kind: str, doc: Document) -> tuple[bytes | None, str]:
    """No value at all: what a compacted topic's producer sends to delete a key.  On the
    profiles topic that is the shop erasing a customer, no hostile record: cut it short there."""
    if kind == "profile":
        return _truncated(rng, kind, doc)
    return None, "malformed_json"


_TYPED_FIELDS = {
    "purchase": ["amount", "customer_id", "occurred_at", "categories", "currency"],
    "login": ["event_id", "occurred_at", "platform"],
    "email": ["action", "customer_id", "campaign_id"],
    "profile": ["reachable", "updated_at", "consent"],
}
_WRONG_VALUES: dict[str, list[Any]] = {
    "amount": ["12.50", None, [1], {"value": 1}],
    "customer_id": [12345, None, ["c"], True],
    "occurred_at": [1706781600, None, {"iso": "2024-01-01"}],
    "updated_at": [1706781600, False],
    "categories": ["shoes", 7, {"a": 1}],
    "currency": [978, ["EUR"]],
    "event_id": [1.5, {"id": 1}],
    "platform": [7, ["web"]],
    "action": [3, ["open"]],
    "campaign_id": [99, {"c": 1}],
    "reachable": ["email", 1],
    "consent": [{"email": True}],
}
_REQUIRED = {
    "purchase": ["event_id", "customer_id", "occurred_at", "order_id", "amount", "currency"],
    "login": ["event_id", "customer_id", "occurred_at"],
    "email": ["event_id", "customer_id", "occurred_at", "action"],
    "profile": ["customer_id", "updated_at"],
}
_ID_FIELD = {"purchase": "order_id", "login": "event_id", "email": "event_id", "profile": "customer_id"}
_BAD_VALUES: dict[str, list[tuple[str, Any]]] = {
    "purchase": [("amount", -0.01), ("amount", 1e13), ("currency", "eur"), ("currency", "EURO"), ("customer_id", "")],
    "login": [("platform", ""), ("platform", "p" * 65), ("event_id", "")],
    "email": [("action", "forwarded"), ("action", "OPEN"), ("message_id", "")],
    "profile": [("time_zone", "Mars/Olympus_Mons"), ("locale", "x"), ("preferred_channel", "fax"), ("reachable", ["pigeon"])],
}
RECIPES: list[Callable[[random.Random, str, Document], tuple[bytes | None, str]]] = [
    _truncated, _not_json, _null_bytes, _bad_utf8, _wrong_type, _missing_field, _huge_string,
    _control_chars, _bad_timestamp, _unknown_type, _bad_value, _tombstone,
]


def as_document(event: msgspec.Struct) -> Document:
    """A valid event as the JSON object a producer sends (without ``type``: the topic says it)."""
    document = msgspec.to_builtins(event)
    document.pop("type", None)
    return document


# Hypothesis strategies for the decode failure classes: each draws a hostile value for a valid
# document of its kind and names the reason it must get.
Drawn = tuple[bytes, str]
_TIME_FIELD = {"purchase": "occurred_at", "login": "occurred_at", "email": "occurred_at", "profile": "updated_at"}
_offsets = st.integers(-1439, 1439).map(lambda minutes: timezone(timedelta(minutes=minutes)))


def _with_extra(doc: Document, raw_value: bytes) -> bytes:
    """The document with an unknown field holding ``raw_value`` (unknown fields are allowed)."""
    return _json(doc)[:-1] + b', "extra": ' + raw_value + b"}"


@st.composite
def _too_deep(draw: Any, kind: str, doc: Document) -> Drawn:
    """Nested past the limit of 32 (issue #18, item 1), in arrays or objects, closed or not."""
    depth = draw(st.integers(33, 5000))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    closed = draw(st.booleans())
    return _with_extra(doc, opener * depth + b"1" + (closer * depth if closed else b"")), "too_deep"


@st.composite
def _non_finite(draw: Any, kind: str, doc: Document) -> Drawn:
    """NaN and infinities, which JSON has no literal for."""
    literal = draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"nan", b"inf", b"-inf"]))
    field = draw(st.sampled_from(["amount", "extra"] if kind == "purchase" else ["extra"]))
    if field == "extra":
        return _with_extra(doc, literal), "malformed_json"
    doc["amount"] = "@@"
    return _json(doc).replace(b'"@@"', literal), "malformed_json"


@st.composite
def _huge_number(draw: Any, kind: str, doc: Document) -> Drawn:
    """An amount past the 1e12 limit: thousands of digits, or an exponent past a float's range."""
    digits = draw(st.integers(13, 4000).map(lambda count: b"9" * count) | st.integers(13, 10**6).map(lambda e: b"1e%d" % e))
    doc["amount"] = "@@"
    return _json(doc).replace(b'"@@"', digits), "invalid_value"


@st.composite
def _bad_date(draw: Any, kind: str, doc: Document) -> Drawn:
    """Dates without an offset, far in the future, or before 1970 (an offset in whole minutes)."""
    form = draw(st.sampled_from(["naive", "future", "ancient"]))
    if form == "naive":
        moment, reason = draw(st.datetimes()), "invalid_value"
    elif form == "future":
        moment, reason = draw(st.datetimes(datetime(2100, 1, 1), timezones=_offsets)), "future_timestamp"
    else:
        moment, reason = draw(st.datetimes(datetime(1, 1, 2), datetime(1969, 12, 30), timezones=_offsets)), "ancient_timestamp"
    doc[_TIME_FIELD[kind]] = moment.isoformat()
    return _json(doc), reason


@st.composite
def _not_utf8(draw: Any, kind: str, doc: Document) -> Drawn:
    """Bytes inside a string that are not UTF-8 (0xff never is), around any other bytes."""
    plain = st.binary(max_size=12).map(lambda raw: raw.replace(b'"', b"").replace(b"\\", b""))  # one string
    before, after = draw(plain), draw(plain)
    doc["customer_id"] = "@@"
    return _json(doc).replace(b'"@@"', b'"' + before + b"\xff" + after + b'"'), "malformed_json"


@st.composite
def _json_type(draw: Any, kind: str, doc: Document) -> Drawn:
    """A required string field holding a number, a boolean, null, a list or an object."""
    field = draw(st.sampled_from(["customer_id", _TIME_FIELD[kind]] + (["event_id"] if kind != "profile" else [])))
    small = st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.booleans() | st.none()
    doc[field] = draw(small | st.lists(small, max_size=3) | st.dictionaries(st.text(max_size=5), small, max_size=3))
    return _json(doc), "wrong_type"


MUTATIONS: list[Callable[[str, Document], st.SearchStrategy[Drawn]]] = [
    _too_deep, _non_finite, _huge_number, _bad_date, _not_utf8, _json_type,
]


def generated(documents: list[tuple[str, Document]], good_keys: list[bytes], count: int) -> list[Hostile]:
    """``count`` records drawn from ``MUTATIONS`` by hypothesis, the same ones on every run
    (derandomized, no example database), in a few seconds."""
    purchases = [(kind, doc) for kind, doc in documents if kind == "purchase"]

    @st.composite
    def hostile(draw: Any) -> Hostile:
        mutation = draw(st.sampled_from(MUTATIONS))
        kind, doc = draw(st.sampled_from(purchases if mutation in (_non_finite, _huge_number) else documents))
        value, reason = draw(mutation(kind, dict(doc)))
        key = draw(st.sampled_from(good_keys) | st.binary(min_size=1, max_size=40) | (st.none() if kind != "profile" else st.nothing()))
        return Hostile(kind, key, value, reason, mutation.__name__.lstrip("_"), (_TRACE,))

    drawn: list[Hostile] = []

    @settings(
        max_examples=count, derandomize=True, database=None, deadline=None,
        phases=[Phase.generate], suppress_health_check=list(HealthCheck),
    )
    @given(hostile())
    def collect(record: Hostile) -> None:
        drawn.append(record)

    collect()
    return drawn


# Hand-written cases, one per issue item they pin: each takes the valid documents by topic kind.
_TRACE = ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")


def _item_1_nested_1000_deep(valid: dict[str, Document]) -> list[Hostile]:
    """Issue #18, item 1: 2 KB nested 1,000 deep raised RecursionError; the record was lost."""
    raw = _with_extra(valid["email"], b"[" * 1000 + b"]" * 1000)
    return [Hostile("email", b"cust-deep", raw, "too_deep", "item 1", (_TRACE,))]


def _item_2_huge_key_and_value(valid: dict[str, Document]) -> list[Hostile]:
    """Issue #18, item 2: a 1 MB key made the dead-letter send fail with MessageSizeTooLarge."""
    return [
        Hostile("login", b"k" * 1_000_000, b"{not json", "malformed_json", "item 2: 1 MB key", (_TRACE,)),
        Hostile("purchase", b"cust-big", b"v" * 900_000, "oversize", "item 2: 900 KB value", (_TRACE,)),
    ]


def _item_15_headers(valid: dict[str, Document]) -> list[Hostile]:
    """Issue #18, item 15: dead letters dropped the original headers; a null header value included."""
    headers = (_TRACE, ("tracestate", b"vendor=1"), ("empty", None), ("binary", bytes(range(256))))
    return [Hostile("purchase", None, b"{,}", "malformed_json", "item 15: headers", headers)]


def _decode_failure_classes(valid: dict[str, Document]) -> list[Hostile]:
    """One of each class the decoder must reject without raising."""
    purchase = _json(valid["purchase"])
    amount = json.dumps(valid["purchase"]["amount"]).encode()
    cases = [
        (purchase.replace(amount, b"NaN", 1), "malformed_json", "NaN"),
        (purchase.replace(amount, b"-Infinity", 1), "malformed_json", "Infinity"),
        (purchase.replace(amount, b"9" * 5000, 1), "invalid_value", "a 5,000-digit number"),
        (purchase.replace(amount, b"1e400", 1), "invalid_value", "a number past a float's range"),
        (b"\xef\xbb\xbf" + purchase, "malformed_json", "a byte-order mark"),
        (purchase.decode().encode("utf-16"), "malformed_json", "UTF-16"),
        (purchase.replace(b'"' + valid["purchase"]["occurred_at"].encode() + b'"', b'"2024-01-01T23:59:60Z"'), "invalid_value", "a leap second"),
        (purchase.replace(b'"' + valid["purchase"]["occurred_at"].encode() + b'"', b'"9999-12-31T23:59:59-23:59"'), "future_timestamp", "year 9999"),
        (b"", "malformed_json", "an empty value"),
    ]
    return [Hostile("purchase", None, raw, reason, f"decode: {name}", (_TRACE,)) for raw, reason, name in cases]


def _item_3_opt_out_sharing_an_event_id(valid: dict[str, Document]) -> list[Hostile]:
    """Issue #18, item 3: an ``unsubscribe`` with the event id of an email ``delivered`` was
    dropped as a duplicate, and the customer kept getting mail.  Both must be applied."""
    delivered = {**valid["email"], "customer_id": ITEM_3_CUSTOMER, "event_id": "shared-id", "action": "delivered"}
    unsubscribe = {**delivered, "action": "unsubscribe"}
    key = ITEM_3_CUSTOMER.encode()
    return [Hostile("email", key, _json(doc), None, "item 3", (_TRACE,)) for doc in (delivered, unsubscribe)]


def _item_6_tombstone(valid: dict[str, Document]) -> list[Hostile]:
    """Issue #18, item 6: a profile tombstone (the shop erased a good customer) was
    dead-lettered.  It must erase them; one whose key is no customer id is still dead-lettered."""
    return [
        Hostile("profile", valid["profile"]["customer_id"].encode(), None, None, "item 6", (_TRACE,)),
        Hostile("profile", b"\xff\xfe", None, "malformed_json", "item 6: tombstone keyed by no customer", (_TRACE,)),
    ]


def _item_7_withdrawals(valid: dict[str, Document]) -> list[Hostile]:
    """Issue #18, item 7: a consent withdrawal with the ``updated_at`` of the current profile was
    ignored, and one future-dated profile blocked every later withdrawal.  Both must win: the
    first on the tie; the second, dated an hour ahead (before the profile 20 hours ahead),
    because each profile counts as dated at most the profile skew ahead of the worker's clock."""
    now = datetime.now(timezone.utc)
    tie, future = ITEM_7_CUSTOMERS
    profile = {"type": "profile", "reachable": ["email", "sms"], "consent": ["email", "sms"]}

    def pair(customer: str, consenting_at: datetime, withdrawing_at: datetime) -> list[Hostile]:
        consenting = {**profile, "customer_id": customer, "updated_at": consenting_at.isoformat()}
        withdrawing = {**consenting, "consent": ["sms"], "updated_at": withdrawing_at.isoformat()}
        return [Hostile("profile", customer.encode(), _json(doc), None, "item 7", (_TRACE,)) for doc in (consenting, withdrawing)]

    at = datetime(2024, 3, 1, tzinfo=timezone.utc)
    return pair(tie, at, at) + pair(future, now + timedelta(hours=20), now + timedelta(hours=1))


ITEM_3_CUSTOMER = "cust-item3"
ITEM_7_CUSTOMERS = ("cust-item7-tie", "cust-item7-future")

HAND_WRITTEN: list[Callable[[dict[str, Document]], list[Hostile]]] = [
    _item_1_nested_1000_deep, _item_2_huge_key_and_value, _item_3_opt_out_sharing_an_event_id, _item_6_tombstone,
    _item_7_withdrawals, _item_15_headers, _decode_failure_classes,
]
