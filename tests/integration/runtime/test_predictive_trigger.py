"""The predictive trigger end to end: one worker, a fitted model's file named by the policy, a
customer whose P(alive) dropped below the threshold enters win-back before the fixed threshold."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from streams.core.churn_model import BgNbd
from streams.devtools.testing import purchase
from streams.model.records import MessageCommand, Trigger
from streams.runtime.settings import Settings
from tests.support.kafka_io import produce, read_until

pytestmark = pytest.mark.integration

BASE = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
NOW = BASE + timedelta(days=80)
MODEL = BgNbd(r=1.2, alpha=40.0, a=0.8, b=1.6)  # days
POLICY = """
stages: {winback: 90}
predictive: {model: model.json, enter_winback_below: 0.3}
campaigns:
  winback:
    steps: [{after_days: 0, channel: email, template: come-back}]
"""
# Three purchases, the latest 60 days ago: P(alive) fell below 0.3 on day 73, before the fixed 90 days.
FADING = ("fading", [BASE, BASE + timedelta(days=10), BASE + timedelta(days=20)])
# One purchase 90 days ago: no repeat purchase, so win-back by the fixed threshold, today.
ONE_TIME = ("one-time", [BASE - timedelta(days=10)])
# Three purchases, the latest 5 days ago: P(alive) is still high, nothing is due.
REGULAR = ("regular", [BASE + timedelta(days=65), BASE + timedelta(days=70), BASE + timedelta(days=75)])


async def test_a_customer_enters_winback_when_p_alive_drops(app_settings: Settings, worker_factory, tmp_path: Path):
    (tmp_path / "model.json").write_text(
        json.dumps({"format": 1, "model": "bg/nbd", "time_unit_days": 1.0, "parameters": {"r": MODEL.r, "alpha": MODEL.alpha, "a": MODEL.a, "b": MODEL.b}})
    )
    (tmp_path / "policy.yaml").write_text(POLICY)
    worker_factory(WINBACK_CLOCK=f"fixed:{NOW.isoformat()}", WINBACK_TICK_SECONDS="0.2", WINBACK_POLICY=str(tmp_path / "policy.yaml"))
    encoder = msgspec.json.Encoder()
    await produce(app_settings.broker, [
        (app_settings.topic_purchases, who.encode(), encoder.encode(purchase(who, when, event_id=f"{who}-{n}", order_id=f"{who}-o{n}")))
        for who, times in (FADING, ONE_TIME, REGULAR) for n, when in enumerate(times)
    ])  # fmt: skip

    records = await read_until(app_settings.broker, [app_settings.topic_triggers, app_settings.command_topics["email"]], lambda found: len(found) >= 4)
    triggers = {t.customer_id: t for r in records if r.topic == app_settings.topic_triggers for t in [msgspec.json.decode(r.value, type=Trigger)]}
    commands = {c.customer_id for r in records if r.topic != app_settings.topic_triggers for c in [msgspec.json.decode(r.value, type=MessageCommand)]}
    crossing = MODEL.below_at(2, 20.0, 0.3)
    assert crossing is not None
    assert set(triggers) == commands == {"fading", "one-time"}
    assert triggers["fading"].stage == "winback" and triggers["fading"].days_inactive == int(crossing - 20)
    assert abs((triggers["fading"].fired_at - (BASE + timedelta(days=crossing))).total_seconds()) < 1
    assert triggers["one-time"].fired_at == NOW  # its fixed 90 days end now
    # Each trigger, as published, says what started it and the customer's P(alive) then.
    assert (triggers["fading"].reason, triggers["fading"].p_alive) == ("predictive", 0.3)
    assert (triggers["one-time"].reason, triggers["one-time"].p_alive) == ("threshold", 1.0)  # alive for sure under BG/NBD
