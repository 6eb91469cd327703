"""Input keyed by customer (``WINBACK_INPUT_KEYED``): the worker reads the input topics directly,
with no repartitioning; a record keyed by another customer is dead-lettered; input topics of
another partition count than the table's are refused before the worker starts; on the event
clock a replay read by one worker gives exactly the backtest's records, as the repartitioned path
does (``test_replay.py``; with several workers each reaches only its own latest event: README)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from streams.backtest.run import run_backtest
from streams.devtools.spawn import worker_env
from streams.devtools.traffic import generate_history
from streams.model.events import encode_event
from streams.model.records import Record, trigger_id
from streams.policy.loading import default_policy_path, load_policy
from streams.runtime import dead_letters
from streams.runtime.settings import Settings
from tests.support.commands import run_winback
from tests.support.kafka_io import assert_nothing_else_published, group_lag, produce, published_id, read_all, read_published, read_until
from tests.support.scenarios import CLOCK, EXPECTED_COMMANDS, EXPECTED_TRIGGERS, HISTORIES, days_ago, ids, publish_histories, read_outputs
from tests.support.topics import create_topic

pytestmark = pytest.mark.integration

# A valid login of cust-b keyed by cust-a: in cust-a's partition, where cust-b's state is not.
MISKEYED = (b"cust-a", b'{"event_id":"mk-1","customer_id":"cust-b","occurred_at":"2024-02-01T10:00:00Z"}')
MALFORMED = (b"cust-a", b"{not json")


async def test_keyed_input_is_applied_without_repartitioning_and_a_miskeyed_record_dead_lettered(
    app_settings: Settings, worker_factory
):
    worker = worker_factory(WINBACK_INPUT_KEYED="true", WINBACK_CLOCK=CLOCK, WINBACK_TICK_SECONDS="0.2")
    logins = app_settings.topic_logins
    await produce(app_settings.broker, [(logins, *MISKEYED), (logins, *MALFORMED)])
    await publish_histories(app_settings)

    expected = len(EXPECTED_TRIGGERS) + len(EXPECTED_COMMANDS)
    triggers, commands = await read_outputs(app_settings, lambda records: len(records) >= expected)
    assert ids(triggers) == EXPECTED_TRIGGERS and ids(commands) == EXPECTED_COMMANDS

    letters = await read_until(app_settings.broker, [app_settings.topic_dead_letters], lambda records: len(records) >= 2)
    reasons = {record.value: dead_letters.read_headers(list(record.headers))["reason"] for record in letters}
    assert reasons == {MISKEYED[1]: "key_mismatch", MALFORMED[1]: "malformed_json"}
    assert await read_all(app_settings.broker, [app_settings.topic_events]) == []  # nothing repartitioned
    assert worker.alive(), worker.tail()


async def test_a_restarted_keyed_worker_fires_what_came_due_for_a_customer_it_recovered(
    app_settings: Settings, worker_factory
):
    """A keyed worker reads no events topic: after a restart it rebuilds its due index over the
    customer partitions it owns of the due topic (``Topology.customer_partitions``; over the
    events topic's, as before, it indexed no one), so a customer recovered from the table whose
    lapse came due while no worker ran is fired all the same, with no new event of theirs."""
    keyed = {"WINBACK_INPUT_KEYED": "true", "WINBACK_TICK_SECONDS": "0.2"}
    first = worker_factory("first", WINBACK_CLOCK=f"fixed:{days_ago(35).isoformat()}", **keyed)  # 5 days after the purchase
    [bought] = HISTORIES["lapsed-40"]
    topic = app_settings.topic_purchases
    await produce(app_settings.broker, [(topic, b"lapsed-40", encode_event(bought))])
    deadline = time.monotonic() + 30
    while any((await group_lag(app_settings.broker, app_settings.app_id, topic)).values()):  # applied and committed
        assert time.monotonic() < deadline, first.tail()
        time.sleep(0.1)
    first.stop()

    worker_factory("second", WINBACK_CLOCK=CLOCK, **keyed)  # 40 days after it: the reactivation is due
    triggers, _ = await read_outputs(app_settings, lambda records: any(record.topic == app_settings.topic_triggers for record in records))
    assert ids(triggers) == {trigger_id("lapsed-40", "reactivation", 0)}


def test_keyed_input_topics_of_another_partition_count_are_refused(app_settings: Settings):
    three = f"{app_settings.topic_logins}-3"
    create_topic(app_settings.broker, three, 3, {})
    env = {**worker_env(app_settings), "WINBACK_INPUT_KEYED": "true", "WINBACK_TOPIC_LOGINS": three}

    run = run_winback(["worker"], {**env, "WINBACK_DATA_DIR": str(app_settings.data_dir)})

    assert run.returncode == 1 and "Traceback" not in run.stderr + run.stdout, run
    [line] = run.stderr.splitlines()
    assert f"{three} has 3 partitions but the activity table needs 4" in line, line


async def test_keyed_input_on_the_event_clock_replays_a_history_topic_after_topic_as_the_backtest_does(
    app_settings: Settings, worker_factory
):
    """The history goes onto its keyed topics one topic after another (each partition in time
    order, a customer's events spread over four topics), all before the worker starts: events
    are held until their partition's time passes them and applied in the backtest's order, and
    once every partition is read and idle, time reaches the last event for every customer."""
    events = generate_history(40, 200, seed=21, start=datetime(2024, 1, 1, tzinfo=timezone.utc))
    decided: dict[str, Record] = {}
    run_backtest([encode_event(event) for event in events], load_policy(default_policy_path()),
                 on_record=lambda _, record: decided.setdefault(record.id, record))
    expected = set(decided)
    in_arrival_order: set[str] = set()  # what applying them as they arrive would decide instead
    by_topic = sorted(events, key=lambda event: list(app_settings.input_topics).index(event.__struct_config__.tag))
    run_backtest([encode_event(event) for event in by_topic], load_policy(default_policy_path()), order="arrival",
                 on_record=lambda _, record: in_arrival_order.add(record.id))
    assert in_arrival_order != expected

    await produce(app_settings.broker, [
        (app_settings.input_topics[event.__struct_config__.tag], event.customer_id.encode(), encode_event(event))
        for event in by_topic
    ])
    worker = worker_factory(WINBACK_INPUT_KEYED="true", WINBACK_CLOCK="event", WINBACK_CLOCK_IDLE_SECONDS="1",
                            WINBACK_TICK_SECONDS="0.5", WINBACK_BATCH_RECORDS="100")  # events wait over many batches
    records = await read_published(app_settings.broker, app_settings.output_topics, decided)
    await assert_nothing_else_published(app_settings.broker, app_settings.output_topics, expected, wait=2)  # past one more idle period (1 s)
    assert {published_id(record) for record in records} == expected
    assert await read_all(app_settings.broker, [app_settings.topic_events]) == []  # nothing repartitioned
    assert worker.alive(), worker.tail()
