"""The pipeline on the real broker: known histories produce exactly the expected triggers and
commands under an injected (fixed) clock, and a restarted worker does not fire them again
(which, with RocksDB, recovers its table from local files as well as the changelog)."""

from __future__ import annotations

import pytest

from streams.runtime.settings import Settings
from tests.support.scenarios import CLOCK, EXPECTED_COMMANDS, EXPECTED_TRIGGERS, days_ago, ids, publish_histories, read_outputs

# The worker's main end-to-end tests, with each table store: memory (tests) and RocksDB (the image's default).
pytestmark = [pytest.mark.integration, pytest.mark.parametrize("store", ["memory", "rocksdb"])]


async def test_known_histories_produce_exactly_the_expected_records(app_settings: Settings, worker_factory):
    worker_factory(WINBACK_CLOCK=CLOCK, WINBACK_TICK_SECONDS="0.2")
    await publish_histories(app_settings)
    expected = len(EXPECTED_TRIGGERS) + len(EXPECTED_COMMANDS)
    triggers, commands = await read_outputs(app_settings, lambda records: len(records) >= expected)

    assert ids(triggers) == EXPECTED_TRIGGERS
    assert ids(commands) == EXPECTED_COMMANDS
    winback_sms = next(c for c in commands if c.customer_id == "lapsed-100" and c.campaign == "winback" and c.step == 1)
    assert winback_sms.channel == "sms" and winback_sms.template == "winback-reminder"
    assert winback_sms.due_at == days_ago(5)  # last activity 100 days ago + 90 + 5
    offer = next(c for c in commands if c.customer_id == "lapsed-100" and c.campaign == "winback" and c.step == 0).offer
    assert offer is not None and offer.percent_off == 20
    # Nothing else arrives afterwards: a fixed clock has nothing more to fire.
    with pytest.raises(TimeoutError):
        await read_outputs(app_settings, lambda records: len(records) > expected, timeout=4)


async def test_restarted_worker_does_not_fire_again(app_settings: Settings, worker_factory):
    worker = worker_factory(WINBACK_CLOCK=CLOCK, WINBACK_TICK_SECONDS="0.2")
    await publish_histories(app_settings)
    expected = len(EXPECTED_TRIGGERS) + len(EXPECTED_COMMANDS)
    await read_outputs(app_settings, lambda records: len(records) >= expected)

    worker.stop()
    worker.start()  # recovers the table from its changelog, rebuilds the due index
    with pytest.raises(TimeoutError):
        await read_outputs(app_settings, lambda records: len(records) > expected, timeout=8)
    assert worker.alive(), worker.tail()
