"""Campaign controls end to end on the real broker: a deferred, a fallen-back, a held-out and a
converted customer, under an injected (fixed) clock, with profiles from the profiles topic."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from streams.core.controls.assignment import Assigner
from streams.model.records import MessageCommand, Outcome, Skip, Trigger, command_id
from streams.devtools.testing import purchase
from streams.model.events import Profile
from streams.runtime.settings import Settings
from streams.admin.topics import changelog_topic
from tests.support.kafka_io import produce, read_until

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("store", ["memory", "rocksdb"])]

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
POLICY = """
stages: {reactivation: 30}
quiet_hours: {start: "20:00", end: "09:00", default_time_zone: UTC}
channels: {fallback: [sms, push], without_profile: [email]}
campaigns:
  reactivation:
    holdout: 0.5
    steps: [{after_days: 0, channel: email, template: we-miss-you}]
"""
GROUPS = Assigner("reactivation", 0.5, {})


def customer(prefix: str, held_out: bool) -> str:
    """The first id with this prefix that lands in (or out of) the holdout."""
    return next(f"{prefix}-{n}" for n in range(1000) if GROUPS.assign(f"{prefix}-{n}").holdout == held_out)


DEFERRED, FALLBACK, HELD, CONVERTED = customer("deferred", False), customer("fallback", False), customer("held", True), customer("converted", False)
PROFILES = [
    # Due 2024-05-31 12:00 UTC, 21:00 in Tokyo: quiet until 09:00 Tokyo, which is NOW.
    Profile(customer_id=DEFERRED, updated_at=NOW - timedelta(days=60), reachable=["email"], consent=["email"], time_zone="Asia/Tokyo"),
    Profile(customer_id=FALLBACK, updated_at=NOW - timedelta(days=60), reachable=["email", "sms"], consent=["sms"]),
]
PURCHASES = [
    (DEFERRED, datetime(2024, 5, 1, 12, tzinfo=timezone.utc), 40.0),
    (FALLBACK, datetime(2024, 4, 20, 12, tzinfo=timezone.utc), 40.0),
    (HELD, datetime(2024, 4, 20, 12, tzinfo=timezone.utc), 40.0),
    (CONVERTED, datetime(2024, 4, 20, 12, tzinfo=timezone.utc), 40.0),
    (CONVERTED, datetime(2024, 5, 25, 12, tzinfo=timezone.utc), 55.5),  # 5 days after its trigger
]
OUTPUTS = 4 + 3 + 3 + 1  # triggers; commands (deferred, fallback, converted); skips (deferral, fallback, holdout); outcome


async def test_deferred_fallen_back_held_out_and_converted_customers(app_settings: Settings, worker_factory, tmp_path: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    worker_factory(WINBACK_CLOCK=f"fixed:{NOW.isoformat()}", WINBACK_TICK_SECONDS="0.2", WINBACK_POLICY=str(policy))
    encoder = msgspec.json.Encoder()
    # Profiles first, and applied before any purchase: consent and zone must be known when steps come due.
    await produce(app_settings.broker, [(app_settings.topic_profiles, p.customer_id.encode(), encoder.encode(p)) for p in PROFILES])
    await read_until(app_settings.broker, [changelog_topic(app_settings)], lambda records: len(records) >= len(PROFILES))
    await produce(app_settings.broker, [
        (app_settings.topic_purchases, who.encode(), encoder.encode(purchase(who, when, amount=amount, event_id=f"{who}-p{number}", order_id=f"{who}-o{number}")))
        for number, (who, when, amount) in enumerate(PURCHASES)
    ])

    topics = [app_settings.topic_triggers, app_settings.topic_skips, app_settings.topic_outcomes, *app_settings.command_topics.values()]
    records = await read_until(app_settings.broker, topics, lambda records: len(records) >= OUTPUTS)
    kinds = {app_settings.topic_triggers: Trigger, app_settings.topic_skips: Skip, app_settings.topic_outcomes: Outcome}
    decoded = [msgspec.json.decode(r.value, type=kinds.get(r.topic, MessageCommand)) for r in records]

    commands = {c.customer_id: c for c in decoded if isinstance(c, MessageCommand)}
    skips = {(s.customer_id, s.action): s for s in decoded if isinstance(s, Skip)}
    assert set(commands) == {DEFERRED, FALLBACK, CONVERTED}
    assert set(skips) == {(DEFERRED, "deferred"), (FALLBACK, "fallback"), (HELD, "held_out")}

    deferred = commands[DEFERRED]
    assert deferred.due_at == datetime(2024, 5, 31, 12, tzinfo=timezone.utc) and deferred.send_after == NOW
    assert skips[DEFERRED, "deferred"].reason == "quiet_hours" and skips[DEFERRED, "deferred"].deferred_to == NOW

    assert commands[FALLBACK].channel == "sms"
    assert (skips[FALLBACK, "fallback"].reason, skips[FALLBACK, "fallback"].planned_channel) == ("no_consent", "email")

    held = skips[HELD, "held_out"]
    assert (held.reason, held.template, held.command_id) == ("holdout", "we-miss-you", command_id(HELD, "reactivation", 0, 0))
    assert [t.holdout for t in decoded if isinstance(t, Trigger) and t.customer_id == HELD] == [True]

    (outcome,) = [o for o in decoded if isinstance(o, Outcome)]
    assert (outcome.customer_id, outcome.revenue, outcome.days_to_return, outcome.holdout) == (CONVERTED, 55.5, 5, False)
    # Nothing more: the fixed clock has nothing else to fire.
    with pytest.raises(TimeoutError):
        await read_until(app_settings.broker, topics, lambda records: len(records) > OUTPUTS, timeout=4)
