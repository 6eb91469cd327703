"""Attribution of engagement and conversions to the message that led to them."""

import msgspec

from streams.devtools import testing
from streams.model.activity import MAX_MESSAGES
from streams.model.positions import Position
from streams.model.records import Engagement, MessageCommand, Offer, Outcome, Trigger, command_id
from streams.core.engine import Engine
from streams.core.kpis import redeemed

from tests.support.builders import moment, policy, purchase, replay
from tests.support.policies import SMALL

# SMALL: reactivation at day 5 (email step 0 at 5, push step 1 at 8), winback at day 15
# (email step 0 with 20 % off at 15, sms step 1 at 19).
ENGINE = Engine(policy(SMALL))


def email(day: float, action, message_id: str | None, event_id: str | None = None):
    return testing.email("c1", moment(day), action, message_id=message_id, event_id=event_id or f"e-{action}-{day}")


def apply_all(events, engine: Engine = ENGINE):
    return replay(engine, events)


def test_an_email_event_naming_a_command_is_credited_to_its_campaign_step_variant_and_channel():
    sent = command_id("c1", "reactivation", 0, 0)
    _, records = apply_all([purchase(0), email(5.5, "delivered", sent), email(6, "open", sent), email(6.1, "click", sent)])
    engaged = [record for record in records if isinstance(record, Engagement)]
    assert [(e.action, e.campaign, e.step, e.variant, e.channel, e.command_id) for e in engaged] == [
        ("delivered", "reactivation", 0, "default", "email", sent),
        ("open", "reactivation", 0, "default", "email", sent),
        ("click", "reactivation", 0, "default", "email", sent),
    ]
    assert engaged[0].sent_at.timestamp() == moment(5)


def test_a_second_open_of_the_same_message_and_unknown_ids_are_not_engagements():
    sent = command_id("c1", "reactivation", 0, 0)
    _, records = apply_all(
        [purchase(0), email(6, "open", sent), email(6.5, "open", sent, "again"), email(6.6, "open", "someone-elses"), email(6.7, "open", None)]
    )
    assert len([record for record in records if isinstance(record, Engagement)]) == 1


def test_a_replayed_event_is_not_credited_twice():
    sent = command_id("c1", "reactivation", 0, 0)
    state = ENGINE.apply_at("c1", None, purchase(0), moment(0), Position(1, 0)).state
    opened = email(6, "unsubscribe", sent)
    first = ENGINE.apply_at("c1", state, opened, moment(6), Position(1, 1)).records
    again = ENGINE.apply_at("c1", state, opened, moment(6), Position(1, 1)).records
    assert [record.action for record in first if isinstance(record, Engagement)] == ["unsubscribe"]
    assert again == ()


def test_engagement_after_the_attribution_window_is_not_credited():
    sent = command_id("c1", "reactivation", 0, 0)
    _, records = apply_all([purchase(0), email(5 + 14.5, "open", sent)])
    assert not [record for record in records if isinstance(record, Engagement)]


def test_a_conversion_carries_the_latest_message_its_offer_and_the_discount_code():
    sent = command_id("c1", "winback", 0, 0)
    with_code = testing.purchase("c1", moment(16), amount=50.0, discount_code="WB20", order_id="o-16")
    _, records = apply_all([purchase(0), with_code])
    (outcome,) = [record for record in records if isinstance(record, Outcome)]
    assert (outcome.campaign, outcome.step, outcome.channel, outcome.command_id) == ("winback", 0, "email", sent)
    assert outcome.offer == Offer(percent_off=20)
    assert outcome.discount_code == "WB20" and redeemed(outcome) == Offer(percent_off=20)


def test_a_held_out_conversion_has_no_message():
    held = Engine(policy(SMALL.replace("  winback:\n", "  winback:\n    holdout: 0.99\n", 1)))
    _, records = apply_all([purchase(0), purchase(16)], held)
    (outcome,) = [record for record in records if isinstance(record, Outcome)]
    assert outcome.holdout and outcome.step is None and outcome.channel is None and outcome.offer is None


def test_the_state_remembers_a_bounded_number_of_messages():
    ladder = Engine(policy(SMALL.replace("sunset: 40", "sunset: 400")))
    state, _ = apply_all([purchase(0)], ladder)
    for day in (30, 60, 90):  # three lapses, two messages each
        state = ladder.apply("c1", state, purchase(day)).state
        state = ladder.advance("c1", state, moment(day + 25)).state
    assert 0 < len(state.messages) <= MAX_MESSAGES


SURVEYED = Engine(policy(SMALL.replace(
    "template: miss-you}",
    "template: miss-you, feedback_request: true, survey_url: 'https://shop.example/why?m={command_id}&s={step}&v={variant}'}",
)))


def answer(day: float, message_id: str, reason, event_id: str, comment: str | None = None):
    return testing.feedback("c1", moment(day), message_id, reason, comment=comment, event_id=event_id)


def test_a_feedback_step_s_command_carries_its_survey_link_and_other_steps_none():
    _, records = apply_all([purchase(0), testing.login("c1", moment(9), event_id="l9")], SURVEYED)
    first, second = [record for record in records if isinstance(record, MessageCommand)]
    assert first.feedback_request and first.survey_link == f"https://shop.example/why?m={first.command_id}&s=0&v=default"
    assert (second.feedback_request, second.survey_link) == (False, None)


def test_a_feedback_answer_is_one_engagement_per_message_with_its_reason_and_no_comment():
    sent = command_id("c1", "reactivation", 0, 0)
    _, records = apply_all([
        purchase(0),
        answer(6, sent, "price", "f1", comment="too dear for me"),
        answer(6.5, sent, "quality", "f2"),  # a second answer to the same message
        answer(6.6, "someone-elses", "other", "f3"),
    ], SURVEYED)
    [engaged] = [record for record in records if isinstance(record, Engagement)]
    assert (engaged.action, engaged.reason, engaged.campaign, engaged.step, engaged.command_id) == ("feedback", "price", "reactivation", 0, sent)
    assert b"too dear" not in b"".join(msgspec.json.encode(record) for record in records)


def test_a_feedback_answer_is_not_activity():
    """Were the answer on day 6 activity, the customer would lapse again on day 11, not move on to winback on day 15."""
    sent = command_id("c1", "reactivation", 0, 0)
    _, records = apply_all([purchase(0), answer(6, sent, "price", "f1"), email(16, "delivered", None)], SURVEYED)
    assert [(record.stage, record.fired_at.timestamp()) for record in records if isinstance(record, Trigger)] == [
        ("reactivation", moment(5)), ("winback", moment(15))
    ]
