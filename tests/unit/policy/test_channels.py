"""Policy validation of the channels a policy defines: each mistake one line, naming its key."""

from __future__ import annotations

import pytest

from streams.policy.loading import parse_policy
from streams.policy.messages import PolicyError

BASE = """
stages: {reactivation: 10}
channels:
  fallback: FALLBACK
  custom:
    CUSTOM
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: CHANNEL, template: a}
"""
CATALOG = "catalog: {kind: direct_mail, topic: winback.commands.catalog}"


def text_of(custom: str = CATALOG, fallback: str = "[email, catalog]", channel: str = "catalog") -> str:
    return BASE.replace("CUSTOM", custom).replace("FALLBACK", fallback).replace("CHANNEL", channel)


def problems(custom: str = CATALOG, fallback: str = "[email, catalog]", channel: str = "catalog", extra: str = "") -> list[str]:
    text = text_of(custom, fallback, channel) + extra
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, source="p.yaml")
    return raised.value.problems


def test_a_valid_custom_channel_is_named_like_a_built_in():
    policy = parse_policy(text_of())
    assert policy.channels.names() == ["email", "sms", "push", "catalog"]
    assert policy.channels.custom["catalog"].consent_field == "postal"  # the kind's own


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"custom": "catalog: {kind: direct_mail, topic: 'winback commands'}"},
            "p.yaml: channels.custom.catalog.topic: winback commands is not a Kafka topic name (letters, digits, '.', '_', '-'; at most 249) (line 6)",
        ),
        (
            {"custom": "catalog: {kind: direct_mail, topic: t.catalog, consent: postl}"},
            "p.yaml: channels.custom.catalog.consent: postl is not a profile consent field "
            "(email, sms, push, postal, ads, in_app, webhook) (did you mean 'postal'?) (line 6)",
        ),
        (
            {"fallback": "[email, catalog, email]"},
            "p.yaml: channels.fallback: email is listed twice: each channel has one place in the order (line 4)",
        ),
        (
            {"channel": "catalgo"},
            "p.yaml: campaigns.reactivation.steps[0].channel: no such channel: catalgo is neither built in "
            "nor under channels.custom (did you mean 'catalog'?) (line 10)",
        ),
        (
            {"custom": "email: {kind: email, topic: t.email2}", "fallback": "[email]", "channel": "email"},
            "p.yaml: channels.custom.email: email is a built-in channel: pick another name (line 6)",
        ),
        (
            {"custom": "ads: {kind: audience, topic: t.ads}", "fallback": "[email]", "channel": "ads"},
            "p.yaml: channels.custom.ads: an audience channel needs its audience_id (line 6)",
        ),
        (
            {"custom": "hook: {kind: webhook, topic: t.hook, audience_id: x, url: 'https://crm.example/in'}", "fallback": "[]", "channel": "hook"},
            "p.yaml: channels.custom.hook: audience_id is a setting of audience channels, not webhook (line 6)",
        ),
        (
            {"custom": "hook: {kind: webhook, topic: t.hook, url: 'http://crm.example/in'}", "fallback": "[]", "channel": "hook"},
            "p.yaml: channels.custom.hook.url: String should match pattern '^https://[^\\s]+$' (line 6)",
        ),
        (
            {"custom": "a: {kind: in_app, topic: t.same}\n    b: {kind: in_app, topic: t.same}", "fallback": "[]", "channel": "a"},
            "p.yaml: channels.custom.b.topic: t.same is a's topic already (line 7)",
        ),
        (
            {"extra": "economics: {currency: EUR, send_costs: {catalgo: 0.8}}\n"},
            "p.yaml: economics.send_costs.catalgo: no such channel: catalgo is neither built in "
            "nor under channels.custom (did you mean 'catalog'?) (line 11)",
        ),
    ],
)
def test_channel_mistakes_are_one_line_errors(arguments, expected):
    assert problems(**arguments) == [expected]


def test_caps_quiet_hours_and_costs_may_name_a_custom_channel():
    extra = (
        "caps: {limits: [{messages: 1, per_days: 30, channel: catalog}]}\n"
        'quiet_hours: {start: "21:00", end: "08:00", channels: [catalog]}\n'
        "economics: {currency: EUR, send_costs: {catalog: 0.85}}\n"
    )
    policy = parse_policy(text_of() + extra)
    assert policy.economics.send_costs == {"catalog": 0.85}
