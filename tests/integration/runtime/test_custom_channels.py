"""Channels from the policy on the real broker: ``topics ensure`` creates a custom channel's
topic, and one worker routes its commands there, with the kind's payload, an ads audience's
removal included when the customer comes back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from streams.admin.topics import changelog_topic, ensure_topics
from streams.devtools.testing import purchase
from streams.model.events import Profile
from streams.model.records import Audience, DirectMail, MessageCommand, removal_id
from streams.runtime.settings import Settings
from tests.support.kafka_io import produce, read_until

pytestmark = pytest.mark.integration

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
POLICY = """
stages: {reactivation: 30}
channels:
  custom:
    catalog: {kind: direct_mail, topic: CATALOG, format: postcard}
    lookalike: {kind: audience, topic: AUDIENCE, audience_id: meta-lapsed}
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: lookalike, template: lapsed}
      - {after_days: 0.5, channel: catalog, template: spring}
"""
CUSTOMER = "mail-1"


async def test_a_custom_channels_commands_go_to_its_topic(app_settings: Settings, worker_factory, tmp_path: Path):
    catalog, audience = f"{app_settings.topic_triggers}-catalog", f"{app_settings.topic_triggers}-audience"
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.replace("CATALOG", catalog).replace("AUDIENCE", audience))
    settings = app_settings.model_copy(update={"policy": policy})
    statuses = {status.spec.name: status.action for status in await ensure_topics(settings)}
    assert (statuses[catalog], statuses[audience], statuses[settings.topic_commands_email]) == ("created", "created", "ok")

    worker_factory(WINBACK_CLOCK=f"fixed:{NOW.isoformat()}", WINBACK_TICK_SECONDS="0.2", WINBACK_POLICY=str(policy))
    encoder = msgspec.json.Encoder()
    consented = Profile(customer_id=CUSTOMER, updated_at=NOW - timedelta(days=60), reachable=["postal", "ads"], consent=["postal", "ads"])
    await produce(settings.broker, [(settings.topic_profiles, CUSTOMER.encode(), encoder.encode(consented))])
    await read_until(settings.broker, [changelog_topic(settings)], lambda records: len(records) >= 1)
    # Lapsed on day 30 (audience add, then the catalog half a day later); back on day 35.
    bought = [NOW - timedelta(days=40), NOW - timedelta(days=5)]
    await produce(settings.broker, [
        (settings.topic_purchases, CUSTOMER.encode(), encoder.encode(purchase(CUSTOMER, when, event_id=f"p{n}", order_id=f"o{n}")))
        for n, when in enumerate(bought)
    ])

    records = await read_until(settings.broker, [catalog, audience], lambda records: len(records) >= 3)
    by_topic = {topic: [msgspec.json.decode(r.value, type=MessageCommand) for r in records if r.topic == topic] for topic in (catalog, audience)}
    [mailed] = by_topic[catalog]
    assert (mailed.channel, mailed.template, mailed.payload) == ("catalog", "spring", DirectMail(format="postcard"))
    added, removed = by_topic[audience]
    assert added.payload == Audience(audience_id="meta-lapsed", action="add")
    assert removed.payload == Audience(audience_id="meta-lapsed", action="remove")
    assert removed.command_id == removal_id(added.command_id)
    assert removed.send_after == bought[1]
    # Nothing on the built-in command topics: every step went to its own channel.
    builtin = [settings.topic_commands_email, settings.topic_commands_sms, settings.topic_commands_push]
    with pytest.raises(TimeoutError):
        await read_until(settings.broker, builtin, lambda records: len(records) > 0, timeout=2)
