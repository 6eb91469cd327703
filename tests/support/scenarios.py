"""The pipeline scenario of the integration tests: four customers' histories under a fixed clock and
exactly the triggers and commands a worker must publish for them (test_pipeline, test_observability).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec

from streams.devtools import testing
from streams.model.events import Login, Purchase
from streams.model.records import MessageCommand, Trigger, command_id, trigger_id
from streams.runtime.connection import client_options
from streams.runtime.settings import Settings
from tests.support.kafka_io import produce, read_until

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
CLOCK = f"fixed:{NOW.isoformat()}"


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def purchase(customer: str, when: datetime, number: int) -> Purchase:
    return testing.purchase(customer, when, amount=40.0, categories=["shoes"], event_id=f"{customer}-p{number}", order_id=f"{customer}-o{number}")


def login(customer: str, when: datetime, number: int) -> Login:
    return testing.login(customer, when, event_id=f"{customer}-l{number}")


# Policy: the bundled example (reactivation 30 d: steps at +0, +7; winback 90 d: +0, +5 (sms), +10; sunset 365 d).
HISTORIES = {
    "fresh": [purchase("fresh", days_ago(5), 1)],  # active: nothing
    "lapsed-40": [purchase("lapsed-40", days_ago(40), 1)],  # reactivation + both steps
    "lapsed-100": [purchase("lapsed-100", days_ago(120), 1), login("lapsed-100", days_ago(100), 1)],
    # Order matters here, so both events are on one topic, keyed by customer (Kafka orders a
    # partition, never two topics): a lapse 40 days ago, then a return 20 days ago.
    "returned": [purchase("returned", days_ago(70), 1), purchase("returned", days_ago(20), 2)],
}
EXPECTED_TRIGGERS = {
    trigger_id("lapsed-40", "reactivation", 0),
    trigger_id("lapsed-100", "reactivation", 0),
    trigger_id("lapsed-100", "winback", 0),
    trigger_id("returned", "reactivation", 0),  # before the login brought them back
}
EXPECTED_COMMANDS = {
    command_id("lapsed-40", "reactivation", 0, 0),
    command_id("lapsed-40", "reactivation", 1, 0),
    command_id("lapsed-100", "reactivation", 0, 0),
    command_id("lapsed-100", "reactivation", 1, 0),
    command_id("lapsed-100", "winback", 0, 0),
    command_id("lapsed-100", "winback", 1, 0),  # day 95: sms; day 100 (step 2) is exactly now: due too
    command_id("lapsed-100", "winback", 2, 0),
    command_id("returned", "reactivation", 0, 0),  # day 40 and 33 ago, before the return 20 days ago
    command_id("returned", "reactivation", 1, 0),
}


async def publish_histories(settings: Settings) -> None:
    encoder = msgspec.json.Encoder()
    await produce(client_options(settings), [
        (settings.input_topics[type(event).__struct_config__.tag], event.customer_id.encode(), encoder.encode(event))
        for history in HISTORIES.values() for event in history
    ])


async def read_outputs(settings: Settings, enough, timeout: float = 60.0):
    topics = [settings.topic_triggers, *settings.command_topics.values()]
    records = await read_until(client_options(settings), topics, enough, timeout)
    triggers = [msgspec.json.decode(r.value, type=Trigger) for r in records if r.topic == settings.topic_triggers]
    commands = [msgspec.json.decode(r.value, type=MessageCommand) for r in records if r.topic != settings.topic_triggers]
    return triggers, commands


def ids(records) -> set[str]:
    return {getattr(record, "trigger_id", None) or record.command_id for record in records}
