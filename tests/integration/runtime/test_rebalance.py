"""Two workers share the partitions; one is stopped mid-run and the survivor finishes every due
transition.  The expected records are the pure backtest's over the same events: the stream may
publish some twice (at-least-once), but the distinct ids must be exactly the backtest's.

Time is injected in two phases so the expectation is exact: first both workers apply the whole
history under a clock set before any of it (so only events move customers), then they are
restarted with the clock a year later and the scheduler fires everything due by then.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import msgspec
import pytest

from streams.model.activity import CustomerActivity
from streams.backtest.run import run_backtest
from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.settings import Settings
from streams.admin.topics import changelog_topic
from streams.devtools.traffic import generate_history
from tests.support.kafka_io import latest_by_key, produce, published_id, read_until

pytestmark = pytest.mark.integration

START = datetime(2023, 1, 1, tzinfo=timezone.utc)
LATER = datetime(2024, 6, 1, tzinfo=timezone.utc)


async def test_survivor_finishes_every_due_transition(app_settings: Settings, worker_factory):
    settings = app_settings
    # Purchases only, keyed by customer: one partition holds each customer's history in order.
    events = [e for e in generate_history(400, 300, seed=21, start=START) if e.__struct_config__.tag == "purchase"]
    encoder = msgspec.json.Encoder()
    expected: set[str] = set()
    run_backtest(
        [encoder.encode(event) for event in events], load_policy(default_policy_path()),
        until=LATER.timestamp(), on_record=lambda _, record: expected.add(record.id),
    )
    counts: dict[str, int] = {}
    for event in events:
        counts[event.customer_id] = counts.get(event.customer_id, 0) + 1

    before = f"fixed:{START.isoformat()}"
    first = worker_factory("first", WINBACK_CLOCK=before)
    second = worker_factory("second", WINBACK_CLOCK=before)
    await produce(settings.broker, [(settings.topic_purchases, e.customer_id.encode(), encoder.encode(e)) for e in events])
    changelog = changelog_topic(settings)
    await read_until(settings.broker, [changelog], lambda records: _all_applied(records, counts), timeout=90)

    for worker in (first, second):
        worker.stop()
        worker.env["WINBACK_CLOCK"] = f"fixed:{LATER.isoformat()}"
        worker.env["WINBACK_TICK_MAX_DUE"] = "20"  # spread the work over ticks so the stop lands mid-run
    # Started together: the first one ready fires what is due at once, and a worker started after
    # it could find the work done.
    await asyncio.gather(*(asyncio.to_thread(worker.start) for worker in (first, second)))
    outputs = settings.output_topics
    at_stop = await read_until(settings.broker, outputs, lambda records: len(records) >= len(expected) // 4, timeout=90)
    second.stop()
    assert len({published_id(record) for record in at_stop}) < len(expected), "the stop must land while work remains"

    records = await read_until(
        settings.broker, outputs, lambda records: {published_id(r) for r in records} >= expected, timeout=120
    )
    published = [published_id(record) for record in records]
    assert set(published) == expected, (len(set(published)), len(expected))
    print(f"expected {len(expected)} distinct records; {len(published)} published; {len({published_id(r) for r in at_stop})} before the stop")
    assert first.alive(), first.tail()


def _all_applied(records, counts: dict[str, int]) -> bool:
    latest = latest_by_key(records)
    return all(
        key in latest and CustomerActivity.decode(latest[key]).purchase_count == count for key, count in counts.items()
    )
