"""Feedback answers share the email-engagement topic: with ``type: feedback`` they decode as
answers, records without a ``type`` stay email events, and a bad answer is a dead letter."""

import pytest

from streams.model.codec import Rejection, decode_line, decode_record
from streams.model.events import EmailEngagement, Feedback, topic_kind
from streams.devtools import testing

from tests.support.builders import moment

ANSWER = (
    b'{"type":"feedback","event_id":"f1","customer_id":"c1","occurred_at":"2025-05-01T10:00:00Z",'
    b'"message_id":"m1","reason":"found_elsewhere","comment":"a cheaper shop"}'
)
EMAIL = b'{"event_id":"e1","customer_id":"c1","occurred_at":"2025-05-01T10:00:00Z","action":"open","message_id":"m1"}'


@pytest.mark.parametrize("escaped", [False, True], ids=["fast path", "checked path"])
def test_an_answer_on_the_email_topic_decodes_with_every_field(escaped: bool):
    raw = ANSWER.replace(b"cheaper", b"ch\\u0065aper") if escaped else ANSWER
    answer = decode_record(raw, "email")
    assert answer == Feedback(
        event_id="f1", customer_id="c1", occurred_at=answer.occurred_at, message_id="m1", reason="found_elsewhere", comment="a cheaper shop"
    )
    assert decode_line(raw) == answer


def test_an_email_record_without_a_type_is_an_email_event_as_before():
    assert isinstance(decode_record(EMAIL, "email"), EmailEngagement)
    assert isinstance(decode_record(b'{"type":"email",' + EMAIL[1:], "email"), EmailEngagement)


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        (ANSWER.replace(b'"found_elsewhere"', b'"bored"'), "invalid_value", "$.reason"),
        (ANSWER.replace(b'"message_id":"m1",', b""), "missing_field", "message_id"),
        (ANSWER.replace(b'"a cheaper shop"', b'"' + b"x" * 501 + b'"'), "invalid_value", "$.comment"),
        (ANSWER.replace(b'"feedback"', b'"login"'), "type_mismatch", "$.type"),
    ],
)
def test_a_bad_answer_is_rejected_with_the_reason(raw: bytes, reason: str, detail: str):
    rejected = decode_record(raw, "email")
    assert isinstance(rejected, Rejection)
    assert (rejected.reason, detail in rejected.detail) == (reason, True), rejected.detail


def test_an_answer_belongs_on_the_email_topic_and_is_refused_elsewhere():
    answer = testing.feedback("c1", moment(1), "m1", "price", event_id="f1")
    assert topic_kind(answer) == "email"
    rejected = decode_record(ANSWER, "purchase")
    assert isinstance(rejected, Rejection) and rejected.reason == "type_mismatch"


def test_a_record_naming_another_type_is_a_mismatch_whatever_else_is_wrong():
    """Found by tests/reliability/test_hostile_input.py: a field a feedback answer has in another type must not change the reason."""
    rejected = decode_record(b'{"message_id":null,"type":"login","event_id":"e","customer_id":"c","occurred_at":"2025-01-01T00:00:00Z"}', "email")
    assert isinstance(rejected, Rejection) and rejected.reason == "type_mismatch"
    answer_last = b'{"event_id":"f1","customer_id":"c1","occurred_at":"2025-05-01T10:00:00Z","message_id":"m1","reason":"price","type":"feedback"}'
    assert isinstance(decode_record(answer_last, "email"), Feedback)
