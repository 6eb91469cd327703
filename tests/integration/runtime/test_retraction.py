"""Late-event retraction on the real broker (policy ``late_events``), one worker on a fixed clock.

The customer bought 33 days before the clock: reactivation fired 3 days ago and its first
email went out; the SMS (day 4 of the series) and the last email (day 11) are not due yet.
Then a purchase made 5 days ago, before the trigger, arrives: the worker publishes a cancel for
each unsent step on its channel's topic (the command ids their sends would have had), the
``retraction`` record naming the trigger, the late purchase and the email sent in error, and
the customer's state is the one the engine computes: active from the late purchase, in a new
episode.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from streams.core.customer_stage import customer_stage
from streams.core.engine import Engine
from streams.devtools import testing
from streams.model.records import MessageCommand, Retraction, command_id, trigger_id
from streams.runtime.settings import Settings
from tests.support.builders import policy
from tests.support.kafka_io import latest_by_key, produce, read_until
from tests.support.phases import wait_for_table

pytestmark = pytest.mark.integration

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
POLICY = """
stages: {reactivation: 30, winback: 90, sunset: 365}
late_events: {retract_within_days: 7}
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: email, template: we-miss-you}
      - {after_days: 7, channel: sms, template: reminder}
      - {after_days: 14, channel: email, template: last-call}
"""
BOUGHT = testing.purchase("c1", NOW - timedelta(days=33), event_id="p-1", order_id="o-1")
LATE = testing.purchase("c1", NOW - timedelta(days=5), event_id="p-2", order_id="o-2")  # before the trigger (NOW - 3 days)


async def test_a_purchase_delayed_past_its_trigger_cancels_the_unsent_steps(app_settings: Settings, worker_factory, tmp_path: Path):
    settings = app_settings
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    worker = worker_factory(WINBACK_CLOCK=f"fixed:{NOW.isoformat()}", WINBACK_TICK_SECONDS="0.2", WINBACK_POLICY=str(policy_file))
    commands = list(settings.command_topics.values())
    await produce(settings.broker, [(settings.topic_purchases, b"c1", msgspec.json.encode(BOUGHT))])
    await read_until(settings.broker, commands, lambda got: len(got) == 1)  # the first email

    await produce(settings.broker, [(settings.topic_purchases, b"c1", msgspec.json.encode(LATE))])
    records = await read_until(
        settings.broker, [*commands, settings.topic_outcomes], lambda got: any(b'"retraction_id"' in r.value for r in got)
    )
    cancels = [(r.topic, msgspec.json.decode(r.value, type=MessageCommand)) for r in records if b'"action":"cancel"' in r.value]
    assert sorted((cancel.step, cancel.channel, topic) for topic, cancel in cancels) == [
        (1, "sms", settings.command_topics["sms"]),
        (2, "email", settings.command_topics["email"]),
    ]
    assert {cancel.command_id for _, cancel in cancels} == {command_id("c1", "reactivation", step, 0) for step in (1, 2)}
    (retraction,) = [msgspec.json.decode(r.value, type=Retraction) for r in records if b'"retraction_id"' in r.value]
    assert retraction.trigger_id == trigger_id("c1", "reactivation", 0)
    assert (retraction.late_event_id, retraction.late_event_at, retraction.retracted_at) == ("p-2", LATE.occurred_at, NOW)
    assert [(sent.step, sent.channel) for sent in retraction.sent_in_error] == [(0, "email")]
    assert sorted(retraction.cancelled) == sorted(cancel.command_id for _, cancel in cancels)

    engine = Engine(policy(POLICY))
    expected = engine.apply("c1", None, BOUGHT).state
    engine.advance("c1", expected, NOW.timestamp())
    engine.apply_at("c1", expected, LATE, LATE.occurred_at.timestamp(), applied_at=NOW.timestamp())
    assert (expected.stage, expected.episode) == (0, 1)
    await wait_for_table(settings, {"c1": expected})
    back = msgspec.json.encode(customer_stage(engine, "c1", expected))
    published = await read_until(settings.broker, [settings.topic_customer_stage], lambda got: latest_by_key(got).get("c1") == back)
    stages = [msgspec.json.decode(r.value)["stage"] for r in published]
    assert [stage for number, stage in enumerate(stages) if stages[number - 1 : number] != [stage]] == ["active", "reactivation", "active"]
    assert msgspec.json.decode(back)["since"] == msgspec.json.decode(msgspec.json.encode(LATE.occurred_at))
    assert worker.alive(), worker.tail()
