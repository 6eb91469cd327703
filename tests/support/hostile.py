"""A seeded generator of hostile input records, each with the dead-letter reason it must get.

Every hostile record is built from a valid event of the topic it is sent to and broken in one
way that real producers break records: cut short, mistyped, missing fields, huge, bad UTF-8 or
escapes, control characters, impossible, future or ancient timestamps, unknown types, null
bytes, tombstones.  The expected reason is part of the recipe, not computed by the codec
under test.
"""

from __future__ import annotations

import json
import random
from typing import Any, Callable, NamedTuple

import msgspec

Document = dict[str, Any]


class Hostile(NamedTuple):
    topic_kind: str  # purchase, login, email or profile: the input topic it is sent to
    key: bytes | None
    value: bytes | None  # None: a tombstone
    reason: str  # the winback.dlq.reason it must be dead-lettered with


def hostile_record(rng: random.Random, kind: str, valid: Document, good_keys: list[bytes]) -> Hostile:
    """One hostile record derived from ``valid``, a valid event of ``kind``'s topic."""
    recipe = rng.choice(RECIPES)
    value, reason = recipe(rng, kind, dict(valid))
    return Hostile(kind, _key(rng, good_keys, keyed=value is None or kind == "profile"), value, reason)


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
        doc[field] = rng.choice(["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59+00:00"])
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
