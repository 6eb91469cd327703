"""A tombstone on the profiles topic erases the customer, on the real broker (issue item 6).

Two customers with the same history are in the middle of their reactivation series; the shop
erases one.  The erased customer's state is replaced by a marker with nothing personal in it
(the changelog's latest record), an ``Erased`` record goes to the outcomes topic, a late event
from before the erasure does not bring them back, and when the clock moves on the other
customer gets the series' next message while the erased one gets nothing more.  Once the
clock passes the erasure's grace, the key is deleted: the changelog's latest record for it is
a tombstone, a restarted worker does not have it, and still nothing is sent for them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec
import pytest

from streams.admin.topics import changelog_topic
from streams.core.engine import Engine
from streams.devtools import testing
from streams.model.activity import CustomerActivity
from streams.devtools.publisher import publish
from streams.model.events import Erasure
from streams.model.records import Erased, MessageCommand
from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.settings import Settings
from tests.support.kafka_io import latest_by_key, produce, published_id, read_all, read_until
from tests.support.phases import wait_for_table

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("store", ["memory", "rocksdb"])]

FIRST = datetime(2024, 6, 1, tzinfo=timezone.utc)  # reactivation (day 30) fired 3 days ago, step 1 due on day 37
LATER = FIRST + timedelta(days=10)  # step 1 is due by then
BOUGHT = FIRST - timedelta(days=33)
ERASED = datetime(2025, 3, 1, 9, 30, tzinfo=timezone.utc)  # the tombstone's timestamp (before the real now)
GRACE = timedelta(seconds=5)  # the marker's grace runs from the erasure (the fixed clock is behind it)
FORGOTTEN = ERASED + GRACE  # the clock of the last phase: the marker is due for deletion


def _purchase(customer: str):
    return testing.purchase(customer, BOUGHT, amount=40.0, event_id=f"{customer}-p", order_id=f"{customer}-o")


async def test_a_tombstone_erases_the_customer_and_ends_their_series(app_settings: Settings, worker_factory):
    settings = app_settings
    worker = worker_factory(
        WINBACK_CLOCK=f"fixed:{FIRST.isoformat()}", WINBACK_TICK_SECONDS="0.2",
        WINBACK_ERASURE_GRACE_SECONDS=str(GRACE.total_seconds()),
    )
    purchases = [_purchase("keep"), _purchase("gone")]
    encoded = [(settings.topic_purchases, p.customer_id.encode(), msgspec.json.encode(p)) for p in purchases]
    await produce(settings.broker, encoded)
    await read_until(settings.broker, settings.output_topics, lambda got: len(_commands(got)) == 2)

    await publish(settings, [Erasure(customer_id="gone", erased_at=ERASED)])  # a tombstone dated ERASED
    outcomes = await read_until(settings.broker, [settings.topic_outcomes], lambda got: len(got) >= 1)
    (erased,) = [msgspec.json.decode(record.value, type=Erased) for record in outcomes]
    (tombstone,) = await read_all(settings.broker, [settings.topic_profiles])
    assert (tombstone.key, tombstone.value) == (b"gone", None)
    assert (erased.customer_id, erased.erased_at, erased.stage, erased.episode) == ("gone", ERASED, "reactivation", 0)
    assert set(msgspec.json.decode(outcomes[0].value)) == {"erasure_id", "customer_id", "erased_at", "stage", "episode"}

    late = testing.login("gone", BOUGHT + timedelta(days=1), event_id="gone-late")  # from before the erasure
    await produce(settings.broker, [(settings.topic_logins, b"gone", msgspec.json.encode(late))])
    await _restart(worker, LATER)
    records = await read_until(settings.broker, settings.output_topics, lambda got: len(_commands(got)) == 3)

    assert sorted((c.customer_id, c.step) for c in _commands(records)) == [("gone", 0), ("keep", 0), ("keep", 1)]
    engine = Engine(load_policy(default_policy_path()))
    keep = engine.apply("keep", None, purchases[0]).state
    engine.advance("keep", keep, FIRST.timestamp())
    engine.advance("keep", keep, LATER.timestamp())
    marker = CustomerActivity.erased(ERASED.timestamp(), {}, FORGOTTEN.timestamp())
    await wait_for_table(settings, {"keep": keep, "gone": marker})
    with pytest.raises(TimeoutError):  # nothing more for anyone, above all for the erased customer
        await read_until(settings.broker, settings.output_topics, lambda got: len(got) > len(records), timeout=4)
    assert worker.alive(), worker.tail()
    assert len({published_id(record) for record in records}) == len(records)

    await _after_the_grace_the_key_is_deleted(settings, worker, engine, keep, records)


async def _after_the_grace_the_key_is_deleted(settings: Settings, worker, engine: Engine, keep, earlier: list):
    """The clock passes the grace: the key is deleted for good, and nothing is sent for it.

    What was published since ``earlier`` is told by id, not by position: a read of several
    topics returns their records in no fixed order, so the first records of a later read need
    not be the earlier ones."""
    before = {published_id(record) for record in earlier}
    keep_next = engine.advance("keep", keep, FORGOTTEN.timestamp()).records  # the kept customer's series goes on
    await _restart(worker, FORGOTTEN)
    records = await read_until(
        settings.broker, settings.output_topics, lambda got: len(got) >= len(earlier) + len(keep_next)
    )
    changelog = await read_until(
        settings.broker, [changelog_topic(settings)], lambda got: latest_by_key(got).get("gone", b"") is None
    )
    *_, last_marker, tombstone = [record.value for record in changelog if record.key == b"gone"]
    assert CustomerActivity.decode(last_marker).is_erased() and tombstone is None
    await wait_for_table(settings, {"keep": keep})  # "gone" is in no state any more

    await _restart(worker, FORGOTTEN)  # a restarted worker recovers without the key:
    back = testing.login("gone", FORGOTTEN, event_id="gone-back")  # with the marker, this would keep erased_at
    await produce(settings.broker, [(settings.topic_logins, b"gone", msgspec.json.encode(back))])
    writes = sum(record.key == b"gone" for record in changelog)
    changelog = await read_until(
        settings.broker, [changelog_topic(settings)], lambda got: sum(r.key == b"gone" for r in got) > writes
    )
    fresh = CustomerActivity.decode(latest_by_key(changelog)["gone"])
    assert fresh.erased_at is None and fresh.forget_at is None  # a new customer, nothing of the old one
    assert msgspec.structs.replace(fresh, applied={}) == engine.apply("gone", None, back).state
    with pytest.raises(TimeoutError):  # the series of the erased customer never resumed
        await read_until(settings.broker, settings.output_topics, lambda got: len(got) > len(records), timeout=4)
    since = [record for record in records if published_id(record) not in before]
    assert since and all(msgspec.json.decode(record.value)["customer_id"] != "gone" for record in since)
    assert worker.alive(), worker.tail()


async def _restart(worker, clock: datetime) -> None:
    """Stop the worker and start it again with the fixed clock at ``clock``."""
    worker.stop()
    worker.env["WINBACK_CLOCK"] = f"fixed:{clock.isoformat()}"
    worker.start()


def _commands(records) -> list[MessageCommand]:
    return [msgspec.json.decode(r.value, type=MessageCommand) for r in records if b'"command_id"' in r.value and b'"skip_id"' not in r.value]
