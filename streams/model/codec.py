"""Turning raw bytes into events, or into a rejection that says why.

Every inbound record ends in exactly one of two places: a validated event, or a
``Rejection`` that the stream sends to the dead-letter topic and the backtest counts.
Nothing raises out of here and nothing is dropped silently.  Reason codes are a small
fixed set so they can be metric labels; the detail carries the precise message.

Nesting is bounded before parsing (``_too_deep``), not by catching ``RecursionError`` after
it: msgspec parses nested arrays and objects recursively against the interpreter's recursion
limit, so whether a deep record fails depends on how deep the caller's stack already is (the
same bytes could pass in the backtest and fail in an agent), the error can come from anywhere
below, and the handler itself runs with almost no stack left.  A scan of the bytes gives the
same verdict everywhere and costs two ``bytes.count`` calls for an ordinary record (a batch of
backtest lines, which always has more brackets than the limit, pays for the scan: about a
sixth of its decoding time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import accumulate
from types import GenericAlias, UnionType
from typing import Annotated, Any, Callable, Union, get_args, get_origin

import msgspec

from streams.model.events import (
    EVENT_CLASSES,
    AnyInput,
    Currency,
    EmailEngagement,
    Erasure,
    Event,
    Feedback,
    Identifier,
    Login,
    Profile,
    Purchase,
)
from streams.model.time_zones import is_time_zone

REASONS = (
    "oversize",  # payload larger than the configured limit
    "too_deep",  # arrays and objects nested deeper than the limit
    "malformed_json",  # not UTF-8 JSON at all
    "missing_field",  # a required field is absent
    "wrong_type",  # a field (or the whole record) has the wrong JSON type
    "invalid_value",  # right type, value out of range / bad format (negative amount, no UTC offset ...)
    "unknown_type",  # a backtest line without a known `type`
    "type_mismatch",  # a `type` field that contradicts the topic the record arrived on
    "future_timestamp",  # occurred_at implausibly far ahead of the clock
    "ancient_timestamp",  # occurred_at before the earliest time accepted (the Unix epoch, or a live worker's floor)
    "bad_framing",  # not a record in the Confluent wire format its topic's format expects, or not matching its schema
    "unknown_schema",  # the schema registry has no schema with the record's schema id
    "key_mismatch",  # keyed input (WINBACK_INPUT_KEYED): the record's key is not its customer_id
)
UNIX_EPOCH = 0.0  # 1970-01-01T00:00:00Z: history from here on is accepted wherever it is re-enacted


class Rejection(msgspec.Struct, frozen=True):
    """Why a record was not accepted: a reason code from ``REASONS`` and a human detail."""

    reason: str
    detail: str


@dataclass(frozen=True)
class Limits:
    """Plausibility limits applied after schema validation."""

    max_payload_bytes: int = 65536
    max_depth: int = 32  # nesting of arrays and objects; an event needs 2 (a purchase's categories)
    max_future_skew_seconds: float = 86400.0
    earliest_event: float = UNIX_EPOCH
    earliest_named: str = "the Unix epoch"  # what the floor is, for the rejection's detail


DEFAULT_LIMITS = Limits()


def decode_record(
    raw: bytes | None, event_type: str, *, now: float | None = None, limits: Limits = DEFAULT_LIMITS
) -> AnyInput | Rejection:
    """Decode a record from the topic of ``event_type``; its ``type`` field is optional.

    ``None`` is a tombstone (a record without a value), which is no event either.
    """
    if raw is None:
        return Rejection("malformed_json", "no value (a tombstone)")
    decoded = _RECORD_DECODINGS[event_type].decode(raw, now, limits)
    if isinstance(decoded, Rejection) and decoded.reason == "type_mismatch":
        also = _ALSO_ON_TOPIC.get((event_type, _type_named(raw)))
        if also is not None:
            return _untimed(also.decode(raw, now, limits))
    return _untimed(decoded)


class _Typed(msgspec.Struct):
    """Only the ``type`` a record names (anything, or nothing)."""

    type: Any = None


_TYPE_ONLY = msgspec.json.Decoder(_Typed)


def _type_named(raw: bytes) -> str | None:
    """The record's ``type``, if it is a JSON object naming one as a string."""
    try:
        named = _TYPE_ONLY.decode(raw).type
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    return named if isinstance(named, str) else None


def decode_erasure(key: bytes | None, at: float) -> Erasure | Rejection:
    """A tombstone on the profiles topic: the shop erased the customer its key names, at ``at``
    (the record's time).  The key must be a customer id like any event's."""
    if key is None:
        return Rejection("missing_field", "a tombstone without a key: no customer to erase")
    try:
        fields = {"type": "erasure", "customer_id": key.decode(), "erased_at": datetime.fromtimestamp(at, tz=timezone.utc)}
        return msgspec.convert(fields, Erasure)
    except UnicodeDecodeError as error:
        return Rejection("malformed_json", f"tombstone key is not UTF-8: {error}")
    except msgspec.ValidationError as error:
        return Rejection("invalid_value", f"tombstone key is no customer id: {error}")


def decode_line(raw: bytes, *, now: float | None = None, limits: Limits = DEFAULT_LIMITS) -> AnyInput | Rejection:
    """Decode a backtest line, which must say its ``type``."""
    return _untimed(_LINE_DECODING.decode(raw, now, limits))


def decode_line_at(
    raw: bytes, *, now: float | None = None, limits: Limits = DEFAULT_LIMITS
) -> tuple[AnyInput, float] | Rejection:
    """``decode_line`` plus the event's time in epoch seconds, which the time check computes
    anyway and every caller needs next (the engine runs on epoch seconds)."""
    return _LINE_DECODING.decode(raw, now, limits)


def decode_batch_at(
    lines: list[bytes], *, now: float | None = None, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[AnyInput], list[float]] | None:
    """Every line's event and epoch seconds, decoded in one call, when every line is a valid
    event; None when any is not, or when the batch is not plain, for the caller to decode the
    lines one by one (``decode_line_at``), which is what this equals whenever it is not None.

    Plain: every line is one JSON object, ``{`` first and ``}`` last, with no newline (lines
    come without their terminator) and no backslash or DEL byte.  Joined by newlines, every
    line boundary is then a ``}``, a newline and a ``{``, which no JSON value can span, so the
    ``n`` lines are exactly the ``n`` values of the newline-delimited buffer.
    """
    buffer = _plain_buffer(lines, limits)
    return None if buffer is None else _LINE_DECODING.decode_batch(buffer, len(lines), now, limits)


def decode_records(
    raws: list[bytes], event_type: str, *, now: float | None = None, limits: Limits = DEFAULT_LIMITS
) -> list[AnyInput] | None:
    """``decode_record`` of every record of a batch from the topic of ``event_type``, in one
    call, when every one is a valid event of the topic's own type; None when any is not, or
    when the batch is not plain (as ``decode_batch_at`` says), for the caller to decode the
    records one by one, which is what this equals whenever it is not None."""
    buffer = _plain_buffer(raws, limits)
    decoded = None if buffer is None else _RECORD_DECODINGS[event_type].decode_batch(buffer, len(raws), now, limits)
    return None if decoded is None else decoded[0]


def _plain_buffer(lines: list[bytes], limits: Limits) -> bytes | None:
    """The lines joined by newlines, if the batch is plain (``decode_batch_at``); else None."""
    if not lines:
        return None
    buffer = b"\n".join(lines)
    count = len(lines)
    if (
        buffer.count(b"\n") != count - 1
        or buffer.count(b"}\n{") != count - 1
        or not buffer.startswith(b"{")
        or not buffer.endswith(b"}")
        or _may_hold_control_chars(buffer)
        or (len(buffer) > limits.max_payload_bytes and max(map(len, lines)) > limits.max_payload_bytes)
        or _too_deep(buffer, limits.max_depth)  # (lines' depths add up only where one is unbalanced)
    ):
        return None
    return buffer


def _untimed(decoded: tuple[AnyInput, float] | Rejection) -> AnyInput | Rejection:
    return decoded if isinstance(decoded, Rejection) else decoded[0]


# Identifiers and short texts must hold no control character.  JSON forbids raw control
# characters inside strings (the decoder rejects them), so a string can only carry one through
# a backslash escape, apart from DEL, which JSON allows raw.  A line with neither a backslash
# nor a DEL byte therefore satisfies this pattern in every (non-empty) string it holds, and its
# decoding can skip the regular expression, which is about two thirds of the decoding time.
_NO_CONTROL_CHARS: str = get_args(Identifier)[1].pattern
# A currency code's regular expression is about a third of what is left of a purchase's
# decoding.  With no escape in the line a string holds no newline, so the pattern accepts
# exactly the three-letter strings of ASCII capitals, which string methods check far quicker.
_CURRENCY: str = get_args(Currency)[1].pattern


def _currency_code(code: str) -> str:
    """``code`` if it matches the currency pattern (on a line with no escape), else ``_NotFast``."""
    if len(code) == 3 and code.isascii() and code.isalpha() and code.isupper():
        return code
    raise _NotFast


def _may_hold_control_chars(raw: bytes) -> bool:
    return b"\\" in raw or b"\x7f" in raw


# A JSON string, or an unterminated one running to the end: matching the latter too keeps the
# scan linear (a failed match retried from every later quote would be quadratic).
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\Z)', re.DOTALL)
_UNESCAPED_STRING = re.compile(rb'"[^"]*+(?:"|\Z)')
_NOT_QUOTE_OR_BRACKET = bytes(byte for byte in range(256) if byte not in b'"[]{}')
_NOT_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")
_AS_PARENTHESES = bytes.maketrans(b"[]{}", b"()()")
_DEPTH_STEP = {ord("("): 1, ord(")"): -1}


def _too_deep(raw: bytes, max_depth: int) -> bool:
    """Whether ``raw`` nests arrays and objects more than ``max_depth`` deep, brackets inside
    strings not counting.

    Fewer opening brackets than the limit settle it at once (every ordinary record); else the
    brackets outside strings are peeled a layer of innermost pairs at a time, and only
    unbalanced ones (a record cut short, or an attack) are counted one by one.
    """
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False
    brackets = _brackets_outside_strings(raw)
    peeled = brackets
    for _ in range(max_depth + 1):
        inner = peeled.replace(b"()", b"")
        if inner == peeled:
            break
        peeled = inner
    else:
        return True  # a pair enclosing max_depth + 1 layers
    return bool(peeled) and max(accumulate(map(_DEPTH_STEP.__getitem__, brackets))) > max_depth


def _brackets_outside_strings(raw: bytes) -> bytes:
    """The brackets of ``raw`` outside its strings, openers as ``(`` and closers as ``)``.

    Strings are found the way a JSON parser finds them (the first quote outside a string opens
    one, the first unescaped quote closes it), so up to the first syntax error, where a parser
    stops, these are the parser's brackets.  Without a backslash, only quotes and brackets
    matter, and two quotes with no bracket between them can go first: either an empty string
    or the gap between two strings, neither of which holds a bracket outside a string.
    """
    if b"\\" in raw:
        outside = _STRING.sub(b"", raw)
    else:
        outside = raw.translate(None, _NOT_QUOTE_OR_BRACKET).replace(b'""', b"")
        if b'"' in outside:
            outside = _UNESCAPED_STRING.sub(b"", outside)
    return outside.translate(_AS_PARENTHESES, _NOT_BRACKET)


class _Decoding:
    """Decodes one event type (or the union of them), skipping the control-character pattern
    when the bytes cannot violate it, and checking currency codes without their pattern.

    The unchecked decoder has every constraint of the real one except those two patterns, and
    building the real event from its result checks the currency codes, so when both accept a
    line that passed the byte check the real decoder would accept it too, with the same field
    values; everything else (including every rejection) goes through the real one.
    """

    def __init__(self, event_type: Any, bad_type_reason: str) -> None:
        self.checked = msgspec.json.Decoder(event_type)
        classes = get_args(event_type) or (event_type,)
        self.real_class = {_unchecked_class(cls): cls for cls in classes}
        unchecked = tuple(self.real_class)
        self.unchecked = msgspec.json.Decoder(Union[unchecked] if len(unchecked) > 1 else unchecked[0])
        self.bad_type_reason = bad_type_reason
        self.build = {cls: BUILDERS[real] for cls, real in self.real_class.items()}
        # the batch path checks profiles' time zones as it builds them (decode does it after)
        self.build_checked = {
            cls: _with_zone_check(self.build[cls]) if real is Profile else self.build[cls]
            for cls, real in self.real_class.items()
        }

    def decode(
        self, raw: bytes, now: float | None, limits: Limits, unescaped: bool = False
    ) -> tuple[AnyInput, float] | Rejection:
        """The event and its epoch seconds, or the rejection; ``unescaped``: the caller has
        checked that ``raw`` holds neither a backslash nor a DEL byte."""
        if len(raw) > limits.max_payload_bytes:
            return Rejection("oversize", f"{len(raw)} bytes exceeds the {limits.max_payload_bytes}-byte limit")
        if _too_deep(raw, limits.max_depth):
            return Rejection("too_deep", f"arrays and objects nested more than {limits.max_depth} deep")
        event = self._decode_unchecked(raw) if unescaped or not _may_hold_control_chars(raw) else None
        if event is None:
            try:
                event = self.checked.decode(raw)
            except msgspec.ValidationError as error:
                return Rejection(_validation_reason(str(error), self.bad_type_reason), str(error))
            except msgspec.DecodeError as error:
                return Rejection("malformed_json", str(error))
            except UnicodeDecodeError as error:  # msgspec's error for bytes that are not UTF-8 inside a string
                return Rejection("malformed_json", f"not UTF-8: {error}")
        at = event.occurred_at.timestamp()
        return _check_time(event, at, now, limits) or _check_time_zone(event) or (event, at)

    def _decode_unchecked(self, raw: bytes) -> AnyInput | None:
        """The event if ``raw`` (known to hold no escape or DEL) is valid, else None."""
        try:
            unchecked = self.unchecked.decode(raw)
            return self.build[unchecked.__class__](unchecked)
        except (msgspec.DecodeError, UnicodeDecodeError, _NotFast):
            return None

    def decode_batch(
        self, buffer: bytes, count: int, now: float | None, limits: Limits
    ) -> tuple[list[AnyInput], list[float]] | None:
        """The events of ``count`` plain lines in ``buffer`` (see ``decode_batch_at``) and their
        epoch seconds if every one passes every check, else None."""
        try:
            unchecked = self.unchecked.decode_lines(buffer)
        except (msgspec.DecodeError, UnicodeDecodeError):  # (bytes that are not UTF-8 inside a string)
            return None
        if len(unchecked) != count:
            return None
        build = self.build_checked
        try:
            events = [build[item.__class__](item) for item in unchecked]
        except _NotFast:
            return None
        times = [event.occurred_at.timestamp() for event in events]
        if not (event_time_allowed(min(times), now, limits) and event_time_allowed(max(times), now, limits)):
            return None
        return events, times


class _NotFast(Exception):
    """What the fast path cannot vouch for (a currency code off its pattern; in a batch, a
    profile's time zone that ``_check_time_zone`` would reject): the full decoder decides."""


# The fast path builds each real event from its unchecked twin field by field (half the time
# of ``real(**asdict(item))``), checking currency codes (``_currency_code``) on the way.  A
# field added to an event must be added here too: tests/unit/model/test_codec.py checks that
# every builder passes every field on.
def _purchase(item: Any) -> Purchase:
    return Purchase(
        event_id=item.event_id,
        customer_id=item.customer_id,
        occurred_at=item.occurred_at,
        order_id=item.order_id,
        amount=item.amount,
        currency=_currency_code(item.currency),
        categories=item.categories,
        discount_code=item.discount_code,
    )


def _login(item: Any) -> Login:
    return Login(event_id=item.event_id, customer_id=item.customer_id, occurred_at=item.occurred_at, platform=item.platform)


def _email(item: Any) -> EmailEngagement:
    return EmailEngagement(
        event_id=item.event_id,
        customer_id=item.customer_id,
        occurred_at=item.occurred_at,
        action=item.action,
        campaign_id=item.campaign_id,
        message_id=item.message_id,
    )


def _feedback(item: Any) -> Feedback:
    return Feedback(
        event_id=item.event_id,
        customer_id=item.customer_id,
        occurred_at=item.occurred_at,
        message_id=item.message_id,
        reason=item.reason,
        comment=item.comment,
    )


def _profile(item: Any) -> Profile:
    return Profile(
        customer_id=item.customer_id,
        updated_at=item.updated_at,
        reachable=item.reachable,
        consent=item.consent,
        preferred_channel=item.preferred_channel,
        time_zone=item.time_zone,
        locale=item.locale,
    )


def _erasure(item: Any) -> Erasure:
    return Erasure(customer_id=item.customer_id, erased_at=item.erased_at)


BUILDERS: dict[type[Any], Callable[[Any], AnyInput]] = {
    Purchase: _purchase,
    Login: _login,
    EmailEngagement: _email,
    Feedback: _feedback,
    Profile: _profile,
    Erasure: _erasure,
}


def _with_zone_check(build: Callable[[Any], AnyInput]) -> Callable[[Any], AnyInput]:
    """``build`` for profiles, raising ``_NotFast`` for one that ``_check_time_zone`` rejects."""

    def build_checked(item: msgspec.Struct) -> AnyInput:
        profile = build(item)
        if _check_time_zone(profile) is not None:
            raise _NotFast
        return profile

    return build_checked


def _unchecked_class(cls: type[Event]) -> type[msgspec.Struct]:
    """A struct decoding like ``cls`` but without the control-character pattern."""
    config = cls.__struct_config__
    fields = msgspec.structs.fields(cls)
    return msgspec.defstruct(
        f"Unchecked{cls.__name__}",
        [(field.name, _without_pattern(field.type), _default(field)) for field in fields],
        kw_only=True,
        tag_field=config.tag_field,
        tag=config.tag,
        rename={field.name: field.encode_name for field in fields},
        forbid_unknown_fields=config.forbid_unknown_fields,
    )


def _default(field: msgspec.structs.FieldInfo) -> Any:
    if field.default_factory is not msgspec.NODEFAULT:
        return msgspec.field(default_factory=field.default_factory)
    return field.default if field.default is not msgspec.NODEFAULT else msgspec.field()


def _without_pattern(annotation: Any) -> Any:
    """``annotation`` with every control-character pattern on a non-empty string and every
    currency pattern dropped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *metas = get_args(annotation)
        return Annotated[(_without_pattern(inner), *map(_meta_without_pattern, metas))]
    if origin is Union or origin is UnionType:
        return Union[tuple(map(_without_pattern, get_args(annotation)))]
    if origin is list:
        return GenericAlias(list, (_without_pattern(get_args(annotation)[0]),))
    return annotation


def _meta_without_pattern(meta: Any) -> Any:
    if not isinstance(meta, msgspec.Meta):
        return meta
    if not (meta.pattern == _NO_CONTROL_CHARS and meta.min_length) and meta.pattern != _CURRENCY:
        return meta
    kept = {name: getattr(meta, name) for name in _META_ATTRIBUTES if name != "pattern"}
    return msgspec.Meta(**{name: value for name, value in kept.items() if value is not None})


_META_ATTRIBUTES = [name for name in dir(msgspec.Meta) if not name.startswith("_")]
_RECORD_DECODINGS = {kind: _Decoding(cls, "type_mismatch") for kind, cls in EVENT_CLASSES.items()}
# Other event types a topic carries, by (topic, the ``type`` the record names): unlike the
# topic's own they must name it, so the email-engagement topic's records without one stay
# email events, exactly as before.
_ALSO_ON_TOPIC: dict[tuple[str, str | None], _Decoding] = {("email", "feedback"): _Decoding(Feedback, "type_mismatch")}
_LINE_DECODING = _Decoding(AnyInput, "unknown_type")


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


def _check_time_zone(event: AnyInput) -> Rejection | None:
    """A profile's time zone must be one the zone database knows (quiet hours are computed in it)."""
    if type(event) is Profile and event.time_zone is not None and not is_time_zone(event.time_zone):
        return Rejection("invalid_value", f"time_zone {event.time_zone!r} is not an IANA time zone")
    return None


def event_time_allowed(occurred: float, now: float | None, limits: Limits) -> bool:
    """The one rule on an event's time (epoch seconds), in the stream, the backtest and every replay.

    Not before ``limits.earliest_event``: the Unix epoch where history is re-enacted (backtest,
    backfill, the event and fixed clocks); a live worker on the wall clock keeps a sanity floor
    of its own (``WINBACK_EARLIEST_EVENT``), since none of its real input is that old.  Not
    more than ``limits.max_future_skew_seconds`` after ``now``, the real time at which the record
    is judged: the worker's machine clock when ingest decodes it (on every clock: a replayed
    record cannot be dated after the moment it is read either), the machine clock at the start
    of a backtest or backfill run.  So a 2099-dated line is rejected by both; ``now`` None
    skips this half (the internal topic's re-decoding of what ingest already judged).
    """
    return occurred >= limits.earliest_event and (now is None or occurred <= now + limits.max_future_skew_seconds)


def _check_time(event: AnyInput, occurred: float, now: float | None, limits: Limits) -> Rejection | None:
    """Why ``event_time_allowed`` refuses the event, or None."""
    if event_time_allowed(occurred, now, limits):
        return None
    if occurred < limits.earliest_event:
        earliest = datetime.fromtimestamp(limits.earliest_event, tz=timezone.utc).isoformat()
        return Rejection(
            "ancient_timestamp", f"occurred_at {event.occurred_at.isoformat()} is before {earliest} ({limits.earliest_named})"
        )
    return Rejection(
        "future_timestamp",
        f"occurred_at {event.occurred_at.isoformat()} is more than {limits.max_future_skew_seconds:.0f}s ahead of the clock",
    )
