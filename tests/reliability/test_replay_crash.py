"""kill -9 a worker while it works through a backlog, start it again: no customer counted twice.

A backlog (two months of daily purchases of a few hundred customers, produced at once, as a
backfill of history would be) holds far more of each customer's events than the latest few
that an id window remembers: whatever the worker had applied since its last offset commit is read again after
the restart, by ingest (which forwards it again) and by the customers agent.  Each customer's
state keeps how far each input partition is applied, so none of it may count twice: every
customer's purchase count and spend must equal the pure engine's over the input, and the whole
state too, field for field (the applied offsets read back from the input topic).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import msgspec
import pytest

from streams.admin.topics import changelog_topic
from streams.devtools import testing
from streams.model.activity import CustomerActivity
from streams.model.events import Purchase
from streams.runtime.settings import Settings
from tests.support.expected import expected_states
from tests.support.kafka_io import latest_by_key, producing, read_all, read_until
from tests.support.phases import wait_for_table
from tests.support.workload import START

pytestmark = [pytest.mark.reliability, pytest.mark.parametrize("store", ["memory", "rocksdb"])]

CUSTOMERS, DAYS = 200, 60
CATEGORIES = ("shoes", "bags", "hats", "coats")


def _backlog() -> list[Purchase]:
    """Every customer's daily purchases, in time order (the customers interleaved)."""
    return [
        testing.purchase(
            f"bulk-{customer}", START + timedelta(days=day, minutes=customer), amount=5.0 + (7 * day + customer) % 40,
            categories=[CATEGORIES[(day + customer) % 4]], event_id=f"bulk-{customer}-{day}", order_id=f"o-{customer}-{day}",
        )
        for day in range(DAYS)
        for customer in range(CUSTOMERS)
    ]


def _counted(records) -> dict[str, CustomerActivity]:
    return {key: CustomerActivity.decode(value) for key, value in latest_by_key(records).items() if value is not None}


def _purchases_applied(changelog) -> int:
    return sum(state.purchase_count for state in _counted(changelog).values())


async def test_kill_9_during_a_backlog_counts_no_customer_twice(app_settings: Settings, worker_factory, report):
    settings = app_settings
    backlog = _backlog()
    expected = expected_states(backlog)
    # Before every purchase: nothing fires.  Small batches: the backlog takes many, so the kill lands
    # amid them (a whole fetch of it is one batch, applied at once).
    worker = worker_factory(WINBACK_CLOCK=f"fixed:{START.isoformat()}", WINBACK_BATCH_RECORDS="100")
    changelog = changelog_topic(settings)
    # The changelog is read from before the backlog is produced, and the kill lands as soon as a
    # third is applied, while it may still be produced: however fast the worker, it cannot be
    # through the backlog unseen (a reader started after the produce saw a fast worker done).
    a_third_applied = asyncio.create_task(
        read_until(settings.broker, [changelog], lambda got: _purchases_applied(got) >= len(backlog) / 3, timeout=120)
    )
    records = [(settings.topic_purchases, p.customer_id.encode(), msgspec.json.encode(p)) for p in backlog]
    async with producing(settings.broker, records):
        await a_third_applied
        killed = time.monotonic()
        worker.kill()
        applied_at_kill = _purchases_applied(await read_all(settings.broker, [changelog]))  # all the killed worker wrote
        assert applied_at_kill < len(backlog), "kill landed too late"

    await asyncio.to_thread(worker.start)
    done = await read_until(
        settings.broker, [changelog],
        lambda got: all(_counted(got).get(c, expected[c]).purchase_count >= s.purchase_count for c, s in expected.items())
        and set(_counted(got)) >= set(expected),
        timeout=180,
    )
    table = _counted(done)
    # What the restarted worker handled beyond what was left to apply: input read again (counted
    # whether or not its state caught it).
    read_again = int(worker.metric("winback_events_applied_total")) - (len(backlog) - applied_at_kill)
    double_counted = sorted(
        customer for customer, state in expected.items()
        if (table[customer].purchase_count, table[customer].total_spend) != (state.purchase_count, state.total_spend)
    )
    report(
        purchases=len(backlog), customers=len(expected), applied_at_kill=applied_at_kill, read_again=read_again,
        double_counted=len(double_counted), kill_to_all_applied_s=round(time.monotonic() - killed, 1),
    )
    assert not double_counted, f"{len(double_counted)} customers counted twice, e.g. {double_counted[:3]}"
    await wait_for_table(settings, expected, timeout=120)
    assert worker.alive(), worker.tail()
