"""Turning raw bytes into events, or into a rejection that says why.

Every inbound record ends in exactly one of two places: a validated event, or a
``Rejection`` that the stream sends to the dead-letter topic and the backtest counts.
Nothing raises out of here and nothing is dropped silently.  Reason codes are a small
fixed set so they can be metric labels; the detail carries the precise message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import msgspec

from streams.events import EVENT_CLASSES, AnyEvent, Event

REASONS = (
    "oversize",  # payload larger than the configured limit
    "malformed_json",  # not UTF-8 JSON at all
    "missing_field",  # a required field is absent
    "wrong_type",  # a field (or the whole record) has the wrong JSON type
    "invalid_value",  # right type, value out of range / bad format (negative amount, no UTC offset ...)
    "unknown_type",  # a backtest line without a known `type`
    "type_mismatch",  # a `type` field that contradicts the topic the record arrived on
    "future_timestamp",  # occurred_at implausibly far ahead of the clock
    "ancient_timestamp",  # occurred_at before the earliest plausible event time
)
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp()


class Rejection(msgspec.Struct, frozen=True):
    """Why a record was not accepted: a reason code from ``REASONS`` and a human detail."""

    reason: str
    detail: str


@dataclass(frozen=True)
class Limits:
    """Plausibility limits applied after schema validation."""

    max_payload_bytes: int = 65536
    max_future_skew_seconds: float = 86400.0
    earliest_event: float = EARLIEST_EVENT


DEFAULT_LIMITS = Limits()
_RECORD_DECODERS = {kind: msgspec.json.Decoder(cls) for kind, cls in EVENT_CLASSES.items()}
_LINE_DECODER = msgspec.json.Decoder(AnyEvent)


def decode_record(
    raw: bytes, event_type: str, *, now: float | None = None, limits: Limits = DEFAULT_LIMITS
) -> Event | Rejection:
    """Decode a record from the topic of ``event_type``; its ``type`` field is optional."""
    return _decode(raw, _RECORD_DECODERS[event_type], "type_mismatch", now, limits)


def decode_line(raw: bytes, *, now: float | None = None, limits: Limits = DEFAULT_LIMITS) -> AnyEvent | Rejection:
    """Decode a backtest line, which must say its ``type``."""
    return _decode(raw, _LINE_DECODER, "unknown_type", now, limits)


def _decode(
    raw: bytes, decoder: msgspec.json.Decoder, bad_type_reason: str, now: float | None, limits: Limits
) -> Event | Rejection:
    if len(raw) > limits.max_payload_bytes:
        return Rejection("oversize", f"{len(raw)} bytes exceeds the {limits.max_payload_bytes}-byte limit")
    try:
        event = decoder.decode(raw)
    except msgspec.ValidationError as error:
        return Rejection(_validation_reason(str(error), bad_type_reason), str(error))
    except msgspec.DecodeError as error:
        return Rejection("malformed_json", str(error))
    return _check_time(event, now, limits) or event


def _validation_reason(message: str, bad_type_reason: str) -> str:
    """Map msgspec's validation message to a reason code.

    A wrong or missing ``type`` means "unknown type" in a backtest line (where the line names
    its type) and "type mismatch" on a topic (where the topic names it).
    """
    if message.endswith("at `$.type`") or message == "Object missing required field `type`":
        return bad_type_reason
    if message.startswith("Object missing required field"):
        return "missing_field"
    if message.startswith("Expected `") and "got `" in message:
        return "wrong_type"
    return "invalid_value"


def _check_time(event: Event, now: float | None, limits: Limits) -> Rejection | None:
    occurred = event.occurred_at.timestamp()
    if occurred < limits.earliest_event:
        earliest = datetime.fromtimestamp(limits.earliest_event, tz=timezone.utc).isoformat()
        return Rejection("ancient_timestamp", f"occurred_at {event.occurred_at.isoformat()} is before {earliest}")
    if now is not None and occurred > now + limits.max_future_skew_seconds:
        return Rejection(
            "future_timestamp",
            f"occurred_at {event.occurred_at.isoformat()} is more than "
            f"{limits.max_future_skew_seconds:.0f}s ahead of the clock",
        )
    return None
