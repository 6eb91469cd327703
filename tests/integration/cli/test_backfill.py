"""``winback backfill`` against a real broker, then a worker on the wall clock.

A shop's history is backfilled into the activity table; a worker started afterwards finds
every customer (the per-stage gauge counts them all) and fires, for each lapsed customer,
exactly one trigger: that of the stage they are in now, which is what ``--dry-run`` counted,
with no message of an earlier stage.  Backfilling twice writes the same states; backfilling
while the worker runs is refused; a live event dated within the history is not counted again.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from pathlib import Path

import msgspec
import pytest

from streams.admin.topics import changelog_topic
from streams.devtools import testing
from streams.devtools.spawn import worker_env
from streams.model.activity import CustomerActivity
from streams.model.events import encode_event
from streams.runtime.settings import Settings
from tests.support.commands import run_winback
from tests.support.kafka_io import latest_by_key, produce, read_all, read_until
from tests.support.policies import SMALL

pytestmark = pytest.mark.integration

DAY = 86400.0
# Days since each group's last purchase (half days: far from any stage boundary while the test runs).
QUIET_DAYS = {"active": 1.5, "reactivation": 8.5, "winback": 20.5, "sunset": 100.5}
PER_STAGE = 6


def _history(now: float) -> list:
    """Customers of each stage with a few purchases each, and two whose history starts in the 1990s."""
    events = []
    for stage, quiet in QUIET_DAYS.items():
        for number in range(PER_STAGE):
            customer, last = f"{stage}-{number}", now - quiet * DAY
            for back in (60, 30, 0):
                events.append(testing.purchase(customer, last - back * DAY, event_id=f"{customer}-{back}", order_id=f"o-{customer}-{back}"))
    nineties = testing.at("1995-06-01T10:00:00Z").timestamp()
    events.append(testing.purchase("since-1995", nineties, event_id="old-1", order_id="old-1"))  # then quiet until 100.5 days ago
    events.append(testing.purchase("since-1995", now - 100.5 * DAY, event_id="old-2", order_id="old-2"))
    events.append(testing.login("only-1990s", testing.at("1993-02-01T10:00:00Z"), event_id="old-3"))  # sunset long ago
    return events


def _expected_stages() -> dict[str, int]:
    counts = {stage: PER_STAGE for stage in QUIET_DAYS}
    counts["sunset"] += 2
    return counts


async def test_a_backfilled_worker_fires_each_customers_current_stage_only(app_settings: Settings, worker_factory, tmp_path: Path):
    settings = app_settings
    policy = tmp_path / "policy.yaml"
    policy.write_text(SMALL)  # reactivation after 5 quiet days, win-back after 15, sunset after 40
    history = tmp_path / "history.jsonl.gz"
    testing_now = time.time()
    with gzip.open(history, "wb") as out:
        out.writelines(encode_event(event) + b"\n" for event in _history(testing_now))
    env = {**worker_env(settings), "WINBACK_POLICY": str(policy)}

    dry = run_winback(["backfill", str(history), "--policy", str(policy), "--dry-run", "--format", "json"], env)
    assert dry.returncode == 0, dry.stderr
    counted = json.loads(dry.stdout)
    assert set(counted) == {"as_of", "customers", "stages"}
    assert counted["stages"] == _expected_stages() and counted["customers"] == sum(_expected_stages().values())
    changelog = changelog_topic(settings)
    assert await read_all(settings.broker, [changelog]) == []  # a dry run writes nothing

    first = run_winback(["backfill", str(history), "--policy", str(policy), "--format", "json"], env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["written"] == counted["customers"]
    states = latest_by_key(await read_all(settings.broker, [changelog]))
    again = run_winback(["backfill", str(history), "--policy", str(policy), "--format", "json"], env)
    assert again.returncode == 0, again.stderr
    assert latest_by_key(await read_all(settings.broker, [changelog])) == states  # the same state, key by key
    assert len(states) == counted["customers"]

    worker = worker_factory(WINBACK_POLICY=str(policy), WINBACK_TICK_SECONDS="0.5")
    lapsed = {stage: count for stage, count in counted["stages"].items() if stage != "active"}
    await read_until(settings.broker, [settings.topic_triggers], lambda got: len(got) >= sum(lapsed.values()), timeout=60)
    await asyncio.sleep(3)  # several ticks more: nothing else may fire
    triggers = await read_all(settings.broker, [settings.topic_triggers])
    fired = [msgspec.json.decode(record.value) for record in triggers]
    by_stage = {stage: len({trigger["trigger_id"] for trigger in fired if trigger["stage"] == stage}) for stage in lapsed}
    assert by_stage == lapsed and len(fired) == sum(lapsed.values())
    assert all(trigger["customer_id"].startswith(trigger["stage"]) or trigger["stage"] == "sunset" for trigger in fired)
    commands = [msgspec.json.decode(r.value) for r in await read_all(settings.broker, list(settings.command_topics.values()))]
    # Messages of each customer's current stage only (its steps due by now: catch_up's rule), none of an earlier one.
    assert commands and all(command["customer_id"].startswith(command["stage"]) for command in commands)
    assert {stage: worker.metric(f'winback_customers{{stage="{stage}"}}') for stage in counted["stages"]} == counted["stages"]

    refused = run_winback(["backfill", str(history), "--policy", str(policy)], env)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("winback: cannot backfill: ") and "WINBACK_APP_ID" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    # A live purchase dated within the history is part of it; one after its end is new.
    customer, horizon = "active-0", testing_now - QUIET_DAYS["active"] * DAY
    old = testing.purchase(customer, horizon - 10 * DAY, event_id="export-again", order_id="x1")
    new = testing.purchase(customer, testing_now, event_id="live-1", order_id="x2")
    await produce(settings.broker, [(settings.topic_purchases, customer.encode(), encode_event(event)) for event in (old, new)])

    def counted_new(records) -> bool:
        value = latest_by_key(records).get(customer)
        return value is not None and CustomerActivity.decode(value).last_purchase > horizon + DAY

    latest = latest_by_key(await read_until(settings.broker, [changelog], counted_new, timeout=30))
    assert CustomerActivity.decode(latest[customer]).purchase_count == 4  # 3 from the history, the new one


async def test_traffic_replay_publishes_a_shops_own_csv_history_keyed_by_customer_in_time_order(app_settings: Settings, tmp_path: Path):
    settings = app_settings
    history = tmp_path / "orders.csv"
    history.write_text(
        "Invoice,InvoiceDate,Price,CustomerID\n"
        "3,1996-01-01 10:00:00,5.00,c2\n"
        "1,1996-01-01 08:00:00,2.50,c1\n"
        "2,1996-01-01 09:00:00,-1,c1\n"  # rejected: a negative amount
        "4,1996-01-01 10:00:00,7.00,c1\n"
    )
    mapping = "customer_id=CustomerID,occurred_at=InvoiceDate,amount=Price,event_id=Invoice"
    replayed = run_winback(["traffic", "replay", str(history), "--map", mapping, "--speed", "3600"], worker_env(settings))
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == "published 3 events"
    assert "1 rows rejected" in replayed.stderr and f"{history}:4: invalid_value" in replayed.stderr
    assert replayed.seconds >= 2.0  # two hours of history at 3600 times its speed
    records = await read_all(settings.broker, [settings.topic_purchases])
    assert sorted((record.key, msgspec.json.decode(record.value)["event_id"]) for record in records) == [
        (b"c1", "1"), (b"c1", "4"), (b"c2", "3"),
    ]
    by_customer = {}
    for record in records:  # each customer's records on one partition, in time order
        by_customer.setdefault(record.key, []).append((record.partition, msgspec.json.decode(record.value)["event_id"]))
    assert by_customer[b"c1"] == [(by_customer[b"c1"][0][0], "1"), (by_customer[b"c1"][0][0], "4")]
