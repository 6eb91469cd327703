"""Channels from the policy: commands on a custom channel carry its kind's payload, its consent
field decides, it takes its place in the fallback order and in caps, and an ads audience is left
when the lapse ends (the customer comes back, reaches sunset or is erased)."""

from __future__ import annotations

from streams.core.engine import Engine
from streams.core.kpis import KpiTally
from streams.model.activity import CHANNEL_BITS, CONSENT_BITS
from streams.model.events import Erasure
from streams.model.records import Audience, DirectMail, MessageCommand, Outcome, Skip, Webhook, command_id, removal_id

from tests.support.builders import moment, policy, profile, purchase, replay, when

CHANNELS = """
stages: {reactivation: 10, winback: 30, sunset: 60}
channels:
  fallback: [catalog, email]
  custom:
    catalog: {kind: direct_mail, topic: winback.commands.catalog, format: postcard}
    lookalike: {kind: audience, topic: winback.audiences.meta, audience_id: meta-lapsed}
    crm: {kind: webhook, topic: winback.commands.crm, url: "https://crm.example/winback", method: PUT}
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: lookalike, template: lapsed}
      - {after_days: 1, channel: catalog, template: spring}
      - {after_days: 2, channel: crm, template: flag}
"""
EVERYTHING = ["email", "postal", "ads", "webhook"]


def run(events: list, until_day: float, text: str = CHANNELS) -> list:
    return replay(Engine(policy(text)), events, until_day)[1]


def commands(records: list) -> list[MessageCommand]:
    return [record for record in records if isinstance(record, MessageCommand)]


def test_each_custom_channel_gets_its_kinds_payload():
    records = run([profile(0, reachable=EVERYTHING, consent=EVERYTHING), purchase(0)], until_day=25)
    assert [(c.channel, c.payload) for c in commands(records)] == [
        ("lookalike", Audience(audience_id="meta-lapsed", action="add")),
        ("catalog", DirectMail(format="postcard", mail_class="standard")),
        ("crm", Webhook(url="https://crm.example/winback", method="PUT")),
    ]


def test_the_consent_field_decides_and_the_fallback_order_includes_custom_channels():
    no_post = profile(0, reachable=["email", "postal"], consent=["email"])
    records = run([no_post, purchase(0)], until_day=25)
    # lookalike and crm: no consent on ads or webhook, fallback [catalog, email]: catalog lacks postal consent, so email.
    assert [(c.template, c.channel, c.payload) for c in commands(records)] == [
        ("lapsed", "email", None), ("spring", "email", None), ("flag", "email", None),
    ]
    assert {(s.planned_channel, s.channel, s.reason) for s in records if isinstance(s, Skip)} == {
        ("lookalike", "email", "no_consent"), ("catalog", "email", "no_consent"), ("crm", "email", "no_consent"),
    }


def test_a_preferred_consent_field_moves_its_channel_first_in_the_fallback():
    prefers_post = profile(0, reachable=["email", "postal"], consent=["email", "postal"], preferred="postal")
    lapsed = commands(run([prefers_post, purchase(0)], until_day=10.5))
    assert [(c.template, c.channel) for c in lapsed] == [("lapsed", "catalog")]


def test_caps_count_a_custom_channel_on_its_own():
    capped = CHANNELS.replace("campaigns:", "caps: {when_capped: skip, limits: [{messages: 1, per_days: 30, channel: catalog}]}\ncampaigns:")
    capped = capped.replace("{after_days: 2, channel: crm, template: flag}", "{after_days: 2, channel: catalog, template: again}")
    records = run([profile(0, reachable=EVERYTHING, consent=EVERYTHING), purchase(0)], until_day=25, text=capped)
    assert [c.template for c in commands(records)] == ["lapsed", "spring"]
    assert [(s.template, s.reason) for s in records if isinstance(s, Skip)] == [("again", "capped")]


def test_coming_back_removes_the_customer_from_the_audience_with_its_own_id():
    records = run([profile(0, reachable=EVERYTHING, consent=EVERYTHING), purchase(0), purchase(10.5)], until_day=20)
    added, removed = [c for c in commands(records) if c.channel == "lookalike"]
    assert added.payload == Audience(audience_id="meta-lapsed", action="add") and not added.removes
    assert removed.payload == Audience(audience_id="meta-lapsed", action="remove") and removed.removes
    assert removed.command_id == removal_id(added.command_id) == removal_id(command_id("c1", "reactivation", 0, 0))
    assert (removed.campaign, removed.step, removed.episode, removed.send_after) == ("reactivation", 0, 0, when(10.5))
    assert any(isinstance(record, Outcome) for record in records)


def test_sunset_and_erasure_remove_the_customer_from_the_audience():
    consented = profile(0, reachable=EVERYTHING, consent=EVERYTHING)
    at_sunset = [c for c in commands(run([consented, purchase(0)], until_day=61)) if c.removes]
    assert [(c.channel, c.send_after) for c in at_sunset] == [("lookalike", when(60))]
    engine = Engine(policy(CHANNELS))
    state = engine.replay("c1", None, [consented, purchase(0)], [moment(0), moment(0)]).state
    added = commands(engine.advance("c1", state, moment(11)).records)
    erased = engine.apply("c1", state, Erasure(customer_id="c1", erased_at=when(12))).records
    assert [c.channel for c in added] == ["lookalike", "catalog"]
    assert [(c.channel, c.send_after) for c in commands(list(erased)) if c.removes] == [("lookalike", when(12))]


def test_a_removal_is_not_a_message_in_the_kpis():
    records = run([profile(0, reachable=EVERYTHING, consent=EVERYTHING), purchase(0), purchase(10.5)], until_day=20)
    tally = KpiTally(policy(CHANNELS).economics)
    for record in records:
        tally.add(record)
    funnel = tally.summary()["campaigns"]["reactivation"]["funnel"]
    assert {(row["channel"], row["sent"]) for row in funnel if row["channel"] == "lookalike"} == {("lookalike", 1)}


def test_the_built_in_channels_keep_their_codes_and_consent_bits():
    assert {name: CONSENT_BITS[name] for name in CHANNEL_BITS} == CHANNEL_BITS == {"email": 1, "sms": 2, "push": 4}
