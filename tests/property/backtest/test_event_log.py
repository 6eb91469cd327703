"""The event log files lines per customer without decoding them, then decodes each customer's
lines in one batch: whatever the lines, it must decide exactly like decoding every line on its
own (same events per customer, same rejections with the same line numbers and reasons).

The reference reads the text line by line (blank lines skipped, not numbered), decodes each line with ``decode_line_at`` and orders each customer's events by
(time, event id), line order on full ties.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.model.codec import DEFAULT_LIMITS, Limits, Rejection, decode_line_at
from streams.backtest.event_log import EventLog

from tests.support.builders import email, login, profile, purchase

CUSTOMERS = ["c1", "c2", "cé", "c\x7f"]


@st.composite
def event_lines(draw) -> bytes:
    customer = draw(st.sampled_from(CUSTOMERS))
    day = draw(st.integers(0, 3))
    event_id = draw(st.sampled_from(["e1", "e2", "e3"]))  # ties and redeliveries
    event = draw(
        st.sampled_from(
            [
                purchase(day, customer, event_id=event_id),
                login(day, customer, event_id=event_id),
                email(day, "click", customer, event_id=event_id),
                profile(day, customer, time_zone="Europe/Berlin"),
                profile(day, customer, time_zone="Mars/Olympus"),  # rejected by the codec's zone check
            ]
        )
    )
    document = msgspec.to_builtins(event) | {"type": event.__struct_config__.tag}
    form = draw(st.sampled_from(["plain", "plain", "plain", "spaced", "escaped", "nested", "crlf", "ancient", "deep"]))
    if form == "spaced":  # json.dumps's separators
        return json.dumps(document, ensure_ascii=False).encode()
    if form == "escaped":  # every non-ASCII character as \\uXXXX, the id included
        return json.dumps(document).encode()
    if form == "nested":  # an unknown field holding another customer id, before the real one
        return msgspec.json.encode({"extra": {"customer_id": "c2"}, **document})
    if form == "ancient":
        return msgspec.json.encode(document | {"occurred_at": "1969-12-31T23:59:59Z"})
    line = msgspec.json.encode(document)
    if form == "deep":  # an unknown field nested at, just past or far past the limit (issue #18, item 1)
        depth = draw(st.sampled_from([31, 32, 1000]))
        return line[:-1] + b',"extra":' + b"[" * depth + b"]" * depth + b"}"
    return line + b"\r" if form == "crlf" else line


others = st.sampled_from(
    [b"", b"  ", b"\t", b"not json", b'{"type":"login"}', b'{"customer_id":"c1"}', b'{"customer_id":"c1"} {"customer_id":"c2"}', b'"customer_id":"c1"']
)
texts = st.lists(event_lines() | others, max_size=25)


def reference(text: bytes, *, skip_blank: bool, limits: Limits = DEFAULT_LIMITS):
    lines = list(io.BytesIO(text)) if skip_blank else text.split(b"\n")
    if skip_blank:
        lines = [line for line in lines if not line.isspace()]
    rejections, customers = [], defaultdict(list)
    for number, raw in enumerate(lines, 1):
        decoded = decode_line_at(raw, limits=limits)
        if isinstance(decoded, Rejection):
            rejections.append((number, decoded))
        else:
            customers[decoded[0].customer_id].append(decoded)
    for events in customers.values():
        events.sort(key=lambda timed: (timed[0].occurred_at, timed[0].event_id))
    return rejections, {customer: [event for event, _ in timed] for customer, timed in customers.items()}, {
        customer: [at for _, at in timed] for customer, timed in customers.items()
    }


def outcome(log: EventLog):
    customers = list(log.customers())
    assert len({customer.customer_id for customer in customers}) == len(customers)
    events = {customer.customer_id: customer.events for customer in customers}
    times = {customer.customer_id: customer.times for customer in customers}
    return log.rejections, events, times


def pieces_of(text: bytes, cuts: list[int]) -> list[bytes]:
    """``text`` cut after some of its newlines, as ``backtest.read_text`` yields it."""
    ends = sorted({index + 1 for index, byte in enumerate(text) if byte == 10} & set(cuts))
    return [text[start:end] for start, end in zip([0, *ends], [*ends, len(text)]) if text[start:end]]


@settings(max_examples=400, deadline=None)
@given(texts, st.booleans(), st.lists(st.integers(0, 2000), max_size=6))
def test_text_decides_like_each_line_on_its_own(lines: list[bytes], final_newline: bool, cuts: list[int]) -> None:
    text = b"\n".join(lines) + (b"\n" if final_newline else b"")
    assert outcome(EventLog.from_text(pieces_of(text, cuts))) == reference(text, skip_blank=True)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_lines_decide_like_each_line_on_its_own(lines: list[bytes]) -> None:
    assert outcome(EventLog(lines)) == reference(b"\n".join(lines), skip_blank=False) if lines else outcome(EventLog(lines)) == ([], {}, {})


@settings(max_examples=200, deadline=None)
@given(st.lists(event_lines(), min_size=1, max_size=8), st.integers(-2, 2), st.booleans())
def test_the_size_limit_counts_the_newline_of_a_line_from_a_file(lines: list[bytes], offset: int, final_newline: bool) -> None:
    limits = Limits(max_payload_bytes=max(map(len, lines)) + offset)
    text = b"\n".join(lines) + (b"\n" if final_newline else b"")
    assert outcome(EventLog.from_text([text], limits=limits)) == reference(text, skip_blank=True, limits=limits)
