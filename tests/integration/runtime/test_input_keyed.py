"""Input keyed by customer (``WINBACK_INPUT_KEYED``): the worker reads the input topics directly,
with no repartitioning; a record keyed by another customer is dead-lettered; input topics of
another partition count than the table's are refused before the worker starts."""

from __future__ import annotations

import pytest

from streams.devtools.spawn import worker_env
from streams.runtime import dead_letters
from streams.runtime.settings import Settings
from tests.support.commands import run_winback
from tests.support.kafka_io import produce, read_all, read_until
from tests.support.scenarios import CLOCK, EXPECTED_COMMANDS, EXPECTED_TRIGGERS, ids, publish_histories, read_outputs
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


def test_keyed_input_topics_of_another_partition_count_are_refused(app_settings: Settings):
    three = f"{app_settings.topic_logins}-3"
    create_topic(app_settings.broker, three, 3, {})
    env = {**worker_env(app_settings), "WINBACK_INPUT_KEYED": "true", "WINBACK_TOPIC_LOGINS": three}

    run = run_winback(["worker"], {**env, "WINBACK_DATA_DIR": str(app_settings.data_dir)})

    assert run.returncode == 1 and "Traceback" not in run.stderr + run.stdout, run
    [line] = run.stderr.splitlines()
    assert f"{three} has 3 partitions but the activity table needs 4" in line, line
