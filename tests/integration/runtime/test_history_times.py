"""Historical times and catching up, through real workers on the real broker.

A wall-clock worker dead-letters an event dated before WINBACK_EARLIEST_EVENT and says so.  An
event-clock worker with ``catch_up: latest``, stopped and restarted after a long outage (event
time jumps 80 days, over 1995 dates), enters each customer only into the stage they are in
now: one trigger per customer, of that stage, and ``caught_up`` skips for the stages passed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from streams.admin.topics import changelog_topic
from streams.core.engine import Engine
from streams.devtools import testing
from streams.model.activity import CustomerActivity
from streams.model.events import AnyInput
from streams.policy.loading import load_policy
from streams.runtime import dead_letters
from streams.runtime.settings import Settings
from tests.support.kafka_io import latest_by_key, produce, published_id, read_until

pytestmark = pytest.mark.integration

DAY0 = datetime(1995, 3, 1, tzinfo=timezone.utc)
# Sunset only ten days after win-back, so that one jump of event time finds customers in each stage.
POLICY = """
catch_up: latest
stages: {reactivation: 30, winback: 90, sunset: 100}
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: email, template: we-miss-you}
      - {after_days: 7, channel: email, template: new-arrivals}
  winback:
    steps:
      - {after_days: 0, channel: email, template: winback-offer}
      - {after_days: 5, channel: email, template: winback-reminder}
"""
# Before the outage everyone buys within 25 days, so nobody lapses yet; after it, event time is
# day 105: idle 105 days (sunset), 95 (win-back since day 100) or 80 (reactivation since day 55).
LAST_PURCHASE = {"sunset": 0, "winback": 10, "reactivation": 25}
PER_STAGE = 4


def day(number: float) -> float:
    return (DAY0 + timedelta(days=number)).timestamp()


def encoded(settings: Settings, events: list[AnyInput]) -> list[tuple[str, bytes, bytes]]:
    encoder = msgspec.json.Encoder()
    return [(settings.input_topics[e.__struct_config__.tag], e.customer_id.encode(), encoder.encode(e)) for e in events]


async def test_a_wall_clock_worker_dead_letters_events_before_winback_earliest_event(app_settings: Settings, worker_factory):
    settings = app_settings
    worker_factory()  # the wall clock, WINBACK_EARLIEST_EVENT unset: 2000-01-01
    old = testing.purchase("c-1999", datetime(1999, 12, 31, 23, tzinfo=timezone.utc), event_id="e-1999", order_id="o")
    await produce(settings.broker, encoded(settings, [old]))

    [letter] = await read_until(settings.broker, [settings.topic_dead_letters], lambda got: len(got) >= 1)
    said = dead_letters.read_headers(list(letter.headers))
    assert said["reason"] == "ancient_timestamp"
    assert said["detail"] == (
        "occurred_at 1999-12-31T23:00:00+00:00 is before 2000-01-01T00:00:00+00:00 (WINBACK_EARLIEST_EVENT, the wall clock's floor)"
    )


async def test_a_worker_restarted_after_a_long_outage_enters_only_the_current_stage(
    app_settings: Settings, worker_factory, tmp_path: Path, report
):
    settings = app_settings
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    before = [
        testing.purchase(f"{stage}-{n}", day(at), event_id=f"p-{stage}-{n}", order_id=f"o-{stage}-{n}")
        for stage, at in LAST_PURCHASE.items()
        for n in range(PER_STAGE)
    ]
    after = [testing.login("newcomer", day(105), event_id="l-newcomer")]  # moves event time past the outage
    expected = expected_records(load_policy(policy_file), before, day(105))
    environment = {"WINBACK_POLICY": str(policy_file), "WINBACK_CLOCK": "event", "WINBACK_CLOCK_IDLE_SECONDS": "2",
                   "WINBACK_TICK_SECONDS": "0.5"}

    worker = worker_factory(**environment)
    await produce(settings.broker, encoded(settings, before))
    await read_until(settings.broker, [changelog_topic(settings)], lambda got: len(latest_by_key(got)) >= len(before))
    await asyncio.to_thread(worker.stop)  # the outage
    await produce(settings.broker, encoded(settings, after))
    await asyncio.to_thread(worker.start)

    outputs = settings.output_topics
    records = await read_until(settings.broker, outputs, lambda got: {published_id(r) for r in got} >= set(expected))
    with pytest.raises(TimeoutError):  # and nothing more
        await read_until(settings.broker, outputs, lambda got: len({published_id(r) for r in got} - set(expected)) > 0,
                         timeout=4)
    documents = {published_id(record): msgspec.json.decode(record.value) for record in records}
    assert documents == expected
    triggers = Counter(doc["stage"] for doc in documents.values() if "fired_at" in doc)
    assert triggers == {stage: PER_STAGE for stage in LAST_PURCHASE}
    passed = {(doc["customer_id"].split("-")[0], doc["stage"]) for doc in documents.values() if doc.get("reason") == "caught_up"}
    assert passed == {("sunset", "reactivation"), ("sunset", "winback"), ("winback", "reactivation"), ("winback", "winback"),
                      ("reactivation", "reactivation")}  # the passed stages' steps, and the expired ones of the current
    commands = [doc for doc in documents.values() if "command_id" in doc and "skip_id" not in doc]
    assert [(doc["customer_id"].split("-")[0], doc["stage"], doc["step"]) for doc in commands] == [("winback", "winback", 1)] * PER_STAGE
    report(triggers=dict(triggers), caught_up_skips=sum(1 for doc in documents.values() if doc.get("reason") == "caught_up"))


def expected_records(policy, events: list[AnyInput], now: float) -> dict[str, dict]:
    """The pure engine's records for these customers when it catches up with them at ``now``."""
    engine, records = Engine(policy), {}
    states: dict[str, CustomerActivity | None] = {}
    for event in events:
        result = engine.apply(event.customer_id, states.get(event.customer_id), event)
        states[event.customer_id] = result.state
        assert not result.records
    for customer_id, state in states.items():
        assert state is not None
        for record in engine.advance(customer_id, state, now).records:
            records[record.id] = msgspec.to_builtins(record)
    return records
