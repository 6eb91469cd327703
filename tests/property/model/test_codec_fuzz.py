"""Random bytes and random JSON never escape the decoder as an exception.

Every input ends as a valid event (whose ids can be used as Kafka keys) or as a rejection with
a known reason code.
"""

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.model.codec import REASONS, Rejection, decode_line, decode_record
from streams.model.events import EVENT_TYPES, Event

json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=12,
)
FIELDS = ["type", "event_id", "customer_id", "occurred_at", "order_id", "amount", "currency", "categories", "action"]
timestamps = st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()) | st.text(max_size=30)
near_events = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from([*EVENT_TYPES, "other"]) | json_values,
        "event_id": st.text(max_size=140) | json_values,
        "customer_id": st.text(max_size=140) | json_values,
        "occurred_at": timestamps | json_values,
        "order_id": st.text(max_size=20),
        "amount": st.floats() | st.integers(-(2**63), 2**63 - 1) | json_values,
        "currency": st.sampled_from(["EUR", "usd", "", "GBPX"]),
        "categories": st.lists(st.text(max_size=70), max_size=40),
        "action": st.sampled_from(["open", "click", "bounce", "nope"]),
    },
)


def assert_event_or_rejection(result: object) -> None:
    if isinstance(result, Rejection):
        assert result.reason in REASONS
    else:
        assert isinstance(result, Event)
        result.customer_id.encode("utf-8")  # usable as a Kafka key
        result.event_id.encode("utf-8")


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(EVENT_TYPES))
def test_random_bytes(raw: bytes, event_type: str):
    assert_event_or_rejection(decode_record(raw, event_type, now=1.7e9))
    assert_event_or_rejection(decode_line(raw, now=1.7e9))


@settings(max_examples=600, deadline=None)
@given(json_values, st.sampled_from(EVENT_TYPES))
def test_random_json(value: object, event_type: str):
    raw = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    assert_event_or_rejection(decode_record(raw, event_type, now=1.7e9))
    assert_event_or_rejection(decode_line(raw))


@settings(max_examples=1500, deadline=None)
@given(near_events, st.sampled_from(EVENT_TYPES))
def test_almost_valid_events(record: dict, event_type: str):
    raw = orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS)
    assert_event_or_rejection(decode_record(raw, event_type, now=1.7e9))
    assert_event_or_rejection(decode_line(raw, now=1.7e9))
