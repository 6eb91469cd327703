"""Campaign controls, each on a known history: caps, quiet hours, consent and fallback, holdout
and variants, value tiers, feedback flag, conversions, sunset."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from streams.core.controls.assignment import Assigner
from streams.model.records import MessageCommand, Outcome, Skip, Trigger
from streams.core.engine import Engine
from streams.policy.messages import PolicyError

from tests.support.builders import DAY, email, login, moment, policy, profile, purchase
from tests.support.engine_runs import records_until


def of(kind, records) -> list:
    return [record for record in records if isinstance(record, kind)]


def day_of(timestamp: datetime) -> float:
    return (timestamp.timestamp() - moment(0)) / DAY


SERIES = """
stages: {reactivation: 10, winback: 60}
campaigns:
  reactivation:
    expires_after_days: 3
    steps:
      - {after_days: 0, channel: email, template: a}
      - {after_days: 1, channel: email, template: b}
      - {after_days: 2, channel: sms, template: c}
"""


def with_controls(controls: str, series: str = SERIES) -> Engine:
    return Engine(policy(series.replace("campaigns:", controls.strip() + "\ncampaigns:", 1)))


def test_a_capped_step_is_deferred_to_when_the_window_has_room():
    engine = with_controls("caps: {limits: [{messages: 2, per_days: 7}]}")
    records = records_until(engine, [purchase(0)], until_day=30)
    sent = of(MessageCommand, records)
    assert [(c.template, day_of(c.due_at), day_of(c.send_after)) for c in sent] == [("a", 10, 10), ("b", 11, 11)]
    # c (due day 12) would be the third message within 7 days: room again on day 17, after its expiry (day 15).
    assert [(s.template, s.reason, s.action) for s in of(Skip, records)] == [("c", "expired", "skipped")]


def test_a_deferral_within_the_expiry_sends_later_with_the_same_command_id():
    engine = with_controls("caps: {limits: [{messages: 1, per_days: 1.5}]}")
    records = records_until(engine, [purchase(0)], until_day=30)
    sent = {c.template: (day_of(c.due_at), day_of(c.send_after)) for c in of(MessageCommand, records)}
    assert sent == {"a": (10, 10), "b": (11, 11.5), "c": (12, 13)}
    deferred = [(s.template, day_of(s.deferred_to)) for s in of(Skip, records)]
    assert deferred == [("b", 11.5), ("c", 13)]
    assert all(s.action == "deferred" and s.reason == "capped" for s in of(Skip, records))


def test_capped_steps_are_skipped_when_the_policy_says_skip():
    engine = with_controls("caps: {when_capped: skip, limits: [{messages: 1, per_days: 7, channel: email}]}")
    records = records_until(engine, [purchase(0)], until_day=30)
    assert [c.template for c in of(MessageCommand, records)] == ["a", "c"]  # c is sms: not capped
    assert [(s.template, s.reason, s.action) for s in of(Skip, records)] == [("b", "capped", "skipped")]


def test_a_campaign_cap_counts_only_that_campaign():
    series = SERIES.replace("expires_after_days: 3", "expires_after_days: 3\n    caps: [{messages: 1, per_days: 30}]")
    records = records_until(Engine(policy(series)), [purchase(0)], until_day=30)
    assert [c.template for c in of(MessageCommand, records)] == ["a"]
    assert [s.reason for s in of(Skip, records)] == ["expired", "expired"]


def test_quiet_hours_move_the_send_to_the_end_of_the_window_in_the_customers_zone():
    # Due at noon UTC = 21:00 in Tokyo (UTC+9), inside 20:00-09:00: sent at 09:00 Tokyo = 00:00 UTC.
    engine = with_controls('quiet_hours: {start: "20:00", end: "09:00"}')
    records = records_until(engine, [profile(0, time_zone="Asia/Tokyo"), purchase(0)], until_day=30)
    sends = [c.send_after.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") for c in of(MessageCommand, records)]
    assert sends == ["09:00", "09:00", "09:00"]
    assert [(s.reason, s.action) for s in of(Skip, records)] == [("quiet_hours", "deferred")] * 3
    assert all(day_of(c.send_after) - day_of(c.due_at) == 0.5 for c in of(MessageCommand, records))


def test_quiet_hours_use_the_default_zone_without_a_profile_and_only_their_channels():
    engine = with_controls('quiet_hours: {start: "12:00", end: "13:30", default_time_zone: UTC, channels: [sms]}')
    records = records_until(engine, [purchase(0)], until_day=30)
    assert [(c.template, c.send_after.strftime("%H:%M")) for c in of(MessageCommand, records)] == [
        ("a", "12:00"),
        ("b", "12:00"),
        ("c", "13:30"),
    ]


def test_an_unsubscribed_channel_falls_back_in_policy_order_with_a_record():
    engine = with_controls("channels: {fallback: [sms, push, email]}")
    records = records_until(engine, [purchase(0), email(1, "unsubscribe")], until_day=30)
    assert [(c.template, c.channel) for c in of(MessageCommand, records)] == [("a", "sms"), ("b", "sms"), ("c", "sms")]
    assert [(s.template, s.reason, s.action, s.channel) for s in of(Skip, records)] == [
        ("a", "no_consent", "fallback", "sms"),
        ("b", "no_consent", "fallback", "sms"),
    ]


def test_the_preferred_channel_is_tried_first_and_no_allowed_channel_skips():
    engine = with_controls("channels: {fallback: [sms, push, email]}")
    preferred = records_until(engine, [profile(0, consent=("push", "sms"), preferred="push"), purchase(0)], until_day=30)
    assert [c.channel for c in of(MessageCommand, preferred)] == ["push", "push", "sms"]
    nowhere = records_until(engine, [profile(0, consent=()), purchase(0)], until_day=30)
    assert of(MessageCommand, nowhere) == []
    assert [s.reason for s in of(Skip, nowhere)] == ["no_channel"] * 3


def test_without_fallback_a_step_on_a_channel_without_consent_is_skipped():
    engine = with_controls("channels: {fallback: [], without_profile: [email]}")
    records = records_until(engine, [purchase(0)], until_day=30)
    assert [c.template for c in of(MessageCommand, records)] == ["a", "b"]
    assert [(s.template, s.reason, s.action) for s in of(Skip, records)] == [("c", "no_consent", "skipped")]


def test_an_older_profile_does_not_overwrite_a_newer_one():
    engine = with_controls("channels: {fallback: []}")
    records = records_until(engine, [profile(5, consent=("email",)), profile(2, consent=("email", "sms")), purchase(0)], until_day=30)
    assert [c.template for c in of(MessageCommand, records)] == ["a", "b"]


HOLDOUT = SERIES.replace("expires_after_days: 3", "expires_after_days: 3\n    holdout: 0.5\n    variants: {x: 1, y: 3}")


def test_held_out_customers_get_would_have_sent_records_and_the_trigger_says_so():
    engine = Engine(policy(HOLDOUT))
    assigner = Assigner("reactivation", 0.5, {"x": 1, "y": 3})
    held = next(f"c{n}" for n in range(100) if assigner.assign(f"c{n}").holdout)
    records = records_until(engine, [purchase(0, held)], until_day=30)
    assert of(MessageCommand, records) == []
    assert [(s.template, s.reason, s.action) for s in of(Skip, records)] == [("a", "holdout", "held_out"), ("b", "holdout", "held_out"), ("c", "holdout", "held_out")]
    assert [t.holdout for t in of(Trigger, records)] == [True]


def test_variants_change_what_the_step_says_and_are_stable():
    series = HOLDOUT.replace("template: b}", "template: b, variants: {y: {template: b-y, offer: {percent_off: 5}}}}")
    engine = Engine(policy(series))
    assigner = Assigner("reactivation", 0.5, {"x": 1, "y": 3})
    treated = [f"c{n}" for n in range(200) if not assigner.assign(f"c{n}").holdout]
    for customer in treated[:20]:
        variant = assigner.assign(customer).variant
        sent = of(MessageCommand, records_until(engine, [purchase(0, customer)], until_day=30))
        assert {c.variant for c in sent} == {variant}
        second = sent[1]
        assert (second.template, second.offer and second.offer.percent_off) == (("b-y", 5) if variant == "y" else ("b", None))


TIERED = """
tiers: [{name: gold, min_spend: 100, min_purchases: 2}, {name: bronze}]
stages: {reactivation: 10}
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: email, template: a, offer: {percent_off: 10}, offers_by_tier: {gold: {free_shipping: true}}, feedback_request: true}
"""


def test_value_tiers_pick_the_offer_and_land_in_the_personalisation():
    engine = Engine(policy(TIERED))
    gold = of(MessageCommand, records_until(engine, [purchase(0, amount=80), purchase(1, amount=30)], until_day=30))[0]
    bronze = of(MessageCommand, records_until(engine, [purchase(0, amount=80)], until_day=30))[0]
    assert (gold.offer.free_shipping, gold.offer.percent_off, gold.personalisation.value_tier) == (True, None, "gold")
    assert (bronze.offer.percent_off, bronze.personalisation.value_tier) == (10, "bronze")
    assert gold.feedback_request and bronze.feedback_request


def test_a_purchase_within_the_window_after_the_trigger_is_one_conversion():
    engine = with_controls("attribution: {window_days: 5}")
    records = records_until(engine, [purchase(0), login(11), purchase(12, amount=42.5), purchase(13)], until_day=30)
    (outcome,) = of(Outcome, records)
    assert (outcome.campaign, outcome.revenue, outcome.days_to_return, outcome.holdout) == ("reactivation", 42.5, 2, False)
    assert day_of(outcome.touched_at) == 10 and day_of(outcome.converted_at) == 12
    late = records_until(engine, [purchase(0), purchase(16)], until_day=30)
    assert of(Outcome, late) == []


def test_attribution_after_the_latest_command():
    engine = with_controls("attribution: {window_days: 1.5, after: command}")
    (outcome,) = of(Outcome, records_until(engine, [purchase(0), purchase(13)], until_day=30))
    assert day_of(outcome.touched_at) == 12 and outcome.days_to_return == 1


def test_a_purchase_cancels_every_pending_step_at_once_even_a_deferred_one():
    engine = with_controls("caps: {limits: [{messages: 1, per_days: 2}]}")
    records = records_until(engine, [purchase(0), purchase(11.5)], until_day=21)  # the next lapse starts on day 21.5
    assert [c.template for c in of(MessageCommand, records)] == ["a"]  # b was deferred to day 12, then cancelled
    assert [(s.template, s.action) for s in of(Skip, records)] == [("b", "deferred")]


def test_sunset_stops_every_pending_message_with_a_record():
    series = """
stages: {reactivation: {min_days: 10, cadence_multiplier: 1}, sunset: 12}
campaigns:
  reactivation:
    steps: [{after_days: 0, channel: email, template: a}, {after_days: 5, channel: email, template: b}]
"""
    records = records_until(Engine(policy(series)), [purchase(0)], until_day=30)
    assert [c.template for c in of(MessageCommand, records)] == ["a"]
    assert [(s.template, s.reason) for s in of(Skip, records)] == [("b", "sunset")]
    assert [t.stage for t in of(Trigger, records)] == ["reactivation", "sunset"]


@pytest.mark.parametrize(
    ("controls", "problem"),
    [
        ('quiet_hours: {start: "25:00", end: "08:00"}', "quiet_hours.start: expected a time of day as HH:MM"),
        ('quiet_hours: {start: 21, end: "08:00"}', "quiet_hours.start: expected a time of day as HH:MM"),
        ('quiet_hours: {start: "21:00", end: "21:00"}', "quiet_hours: start and end are the same time"),
        (
            'quiet_hours: {start: "21:00", end: "08:00", channels: [email, email]}',
            "quiet_hours.channels: email is listed twice: name each channel the window holds back once",
        ),
        ('quiet_hours: {start: "21:00", end: "08:00", default_time_zone: Mars/Base}', "Mars/Base is not an IANA time zone"),
        ("caps: {limits: [{messages: 0, per_days: 7}]}", "caps.limits[0].messages: Input should be greater than or equal to 1"),
        ("caps: {when_capped: later}", "caps.when_capped: Input should be 'defer' or 'skip'"),
        ("channels: {fallback: [fax]}", "channels.fallback[0]: no such channel: fax is neither built in nor under channels.custom"),
        ("tiers: [{name: gold}, {name: gold}]", "tiers[1].name: gold is listed twice"),
        ("attribution: {after: click}", "attribution.after: Input should be 'trigger' or 'command'"),
        ("cap: {messages: 1}", "cap: unknown key (did you mean 'caps'?)"),
    ],
)
def test_policy_check_explains_control_mistakes(controls, problem):
    with pytest.raises(PolicyError) as raised:
        with_controls(controls)
    assert any(problem in line for line in raised.value.problems), raised.value.problems


@pytest.mark.parametrize(
    ("campaign_keys", "problem"),
    [
        ("holdout: 1.5", "campaigns.reactivation.holdout: Input should be less than 1"),
        ("variants: {a: 0}", "campaigns.reactivation.variants.a: Input should be greater than 0"),
    ],
)
def test_policy_check_explains_campaign_control_mistakes(campaign_keys, problem):
    with pytest.raises(PolicyError) as raised:
        Engine(policy(SERIES.replace("expires_after_days: 3", f"expires_after_days: 3\n    {campaign_keys}")))
    assert any(problem in line for line in raised.value.problems), raised.value.problems


def test_unknown_tiers_and_variants_in_steps_are_named():
    text = TIERED.replace("gold: {free_shipping: true}", "gld: {free_shipping: true}").replace(
        "feedback_request: true}", "feedback_request: true, variants: {b: {template: z}}}"
    )
    with pytest.raises(PolicyError) as raised:
        policy(text)
    assert any("offers_by_tier.gld: no such tier under tiers (did you mean 'gold'?)" in p for p in raised.value.problems)
    assert any("variants.b: no such variant under campaigns.reactivation.variants" in p for p in raised.value.problems)


def test_a_sunset_campaign_is_refused():
    with pytest.raises(PolicyError, match="sunset stops every message"):
        policy("stages: {sunset: 20}\ncampaigns: {sunset: {steps: [{after_days: 0, channel: email, template: x}]}}")
