"""On the event clock the workers publish exactly the backtest's records, whatever the input
partitioning and the interleaving of topics (issue 24, item 0); and the compacted
customer-stage topic they keep tells any fresh consumer exactly their stage counts (item 1).

A property test through the real broker.  Each example is a log of one to three random
histories, one after another in time, whose records go to random partitions (an 8-partition
purchases topic, as an unkeyed shop topic spreads a customer's orders) in a random
interleaving of topics and partitions (each partition in time order, as a replay writes it),
replayed on topics of its own: the first example by one worker, the second by two, the second
joining while the first reads the backlog, so input and customer partitions move between
workers mid-stream.  The whole
log is in Kafka before the first worker starts: an input partition that is caught up and
quiet stops holding event time back (``streams.runtime.clock``), so records that arrive only
later may be late, which is what a replay never is.  No shrinking: an example takes seconds.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timedelta, timezone

import msgspec
from aiokafka.partitioner import DefaultPartitioner
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from streams.admin.topics import ensure_topics
from streams.backtest.run import run_backtest
from streams.devtools.publisher import publish
from streams.devtools.spawn import WorkerProcess, worker_env
from streams.devtools.traffic import generate_history
from streams.model.events import AnyInput, Erasure, Profile, encode_event
from streams.model.records import STAGES, Record
from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.settings import Settings
from tests.support.kafka_io import latest_by_key, produce, published_id, read_all, read_until
from tests.support.topics import make_topic

pytestmark = pytest.mark.integration

PURCHASE_PARTITIONS = 8
EXAMPLES = 2
WORKER_SETTINGS = {"WINBACK_CLOCK": "event", "WINBACK_CLOCK_IDLE_SECONDS": "1", "WINBACK_TICK_SECONDS": "0.5"}
START = datetime(2023, 1, 1, tzinfo=timezone.utc)
histories = st.lists(st.tuples(st.integers(8, 30), st.integers(60, 200), st.integers(0, 10_000)), min_size=1, max_size=3)


def test_workers_publish_the_backtests_records_for_any_partitioning_and_interleaving_and_their_stages(
    app_settings: Settings, worker_factory
):
    replays: list[_Replay] = []

    @settings(max_examples=EXAMPLES, phases=[Phase.generate], deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(parts=histories, order=st.randoms(use_true_random=False))
    def example(parts: list[tuple[int, int, int]], order: random.Random) -> None:
        for earlier in replays:
            earlier.stop()
        replay = _Replay(_namespace(app_settings, len(replays)), _log(parts))
        replays.append(replay)
        asyncio.run(produce(replay.settings.broker, _scattered(replay.log, replay.settings, order)))
        for number in range(len(replays)):  # one worker, then two: the second starts while the first reads the backlog
            replay.workers.append(worker_factory(f"e{len(replays)}-worker-{number}", **replay.env))
        replay.check_records()

    example()
    replay = replays[-1]
    replay.check_stages()
    # The shop erases a customer on each profiles partition, whichever worker reads it, at
    # times of their own: the latest is applied only once every partition's reader reports it.
    erased = _one_customer_per_partition(replay.log, replay.settings.partitions)
    end = max(event.occurred_at for event in replay.log)
    erasures = [Erasure(customer_id=customer, erased_at=end + timedelta(hours=hours)) for hours, customer in enumerate(erased, 1)]
    asyncio.run(publish(replay.settings, erasures))
    replay.check_stages(erased=set(erased))


def _namespace(settings: Settings, number: int) -> Settings:
    """``settings`` with topics and a group of the example's own, created (purchases with 8 partitions)."""
    names = {name: f"{getattr(settings, name)}-e{number}" for name in Settings.model_fields if name.startswith("topic_")}
    own = settings.model_copy(update={**names, "app_id": f"{settings.app_id}-e{number}"})
    asyncio.run(make_topic(own.broker, own.topic_purchases, PURCHASE_PARTITIONS))
    asyncio.run(ensure_topics(own))
    return own


def _log(parts: list[tuple[int, int, int]]) -> list[AnyInput]:
    """Histories one after another in time, each with customers of its own, in time order."""
    log: list[AnyInput] = []
    start = START
    for number, (customers, days, seed) in enumerate(parts):
        history = [_renamed(event, f"h{number}-") for event in generate_history(customers, days, seed=seed, start=start)]
        start = max(event.occurred_at for event in history) + timedelta(days=1)
        log.extend(history)
    return log


class _Replay:
    """One example: its settings, its log, the workers that replay it."""

    def __init__(self, settings: Settings, log: list[AnyInput]):
        self.settings = settings
        self.log = log
        self.env = {**worker_env(settings), **WORKER_SETTINGS}
        self.workers: list[WorkerProcess] = []

    def stop(self) -> None:
        for worker in self.workers:
            worker.kill()

    def check_records(self) -> None:
        """The workers' records are exactly the backtest's of the log."""
        decided: dict[str, Record] = {}
        lines = [encode_event(event) for event in self.log]
        run_backtest(lines, load_policy(default_policy_path()), on_record=lambda _, record: decided.setdefault(record.id, record))
        expected = set(decided)
        outputs = self.settings.output_topics
        try:
            records = asyncio.run(read_until(self.settings.broker, outputs, lambda got: {published_id(r) for r in got} >= expected, timeout=60))
        except TimeoutError as error:
            got = {published_id(record) for record in error.records}  # type: ignore[attr-defined]
            missing = [decided[id_] for id_ in sorted(expected - got)][:3]
            raise AssertionError(f"{len(expected - got)} of {len(expected)} missing, {len(got - expected)} unexpected: {missing}") from error
        assert {published_id(record) for record in records} == expected

    def check_stages(self, erased: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """A fresh consumer of the stage topic (latest value per key, tombstones removing) counts
        exactly the customers per stage that the workers hold (and no longer has the ``erased``)."""
        deadline = time.monotonic() + 30
        while True:
            topic = asyncio.run(read_all(self.settings.broker, [self.settings.topic_customer_stage]))
            stages = {customer: msgspec.json.decode(value)["stage"] for customer, value in latest_by_key(topic).items() if value is not None}
            counted = {stage: sum(1 for got in stages.values() if got == stage) for stage in STAGES}
            held = {stage: sum(worker.metric(f'winback_customers{{stage="{stage}"}}') for worker in self.workers) for stage in STAGES}
            if (counted == held and not erased & stages.keys()) or time.monotonic() > deadline:
                assert (counted, erased & stages.keys()) == (held, set())
                return
            time.sleep(0.5)


def _one_customer_per_partition(log: list[AnyInput], partitions: int) -> list[str]:
    """A customer of ``log`` whose key falls in each profiles partition (as a keyed producer places it)."""
    chosen: dict[int, str] = {}
    every = list(range(partitions))
    for customer in sorted({event.customer_id for event in log}):
        chosen.setdefault(DefaultPartitioner()(customer.encode(), every, every), customer)
    assert len(chosen) == partitions
    return list(chosen.values())


def _renamed(event: AnyInput, prefix: str) -> AnyInput:
    """``event`` of customer ``prefix + customer_id`` (its event id too, which names the customer)."""
    fields = {"customer_id": prefix + event.customer_id}
    if "event_id" in event.__struct_fields__:
        fields["event_id"] = prefix + event.event_id
    return msgspec.structs.replace(event, **fields)


def _scattered(history: list[AnyInput], settings: Settings, order: random.Random) -> list[tuple[str, bytes | None, bytes, int]]:
    """The history's records on random partitions, interleaved at random, each partition in time order.

    Records carry no key (a profile does: its topic is compacted) and name their partition, so
    a customer's events spread over a topic's partitions as an unkeyed producer spreads them.
    """
    queues: dict[tuple[str, int], list[AnyInput]] = {}
    for event in history:  # already in time order
        kind = event.__struct_config__.tag
        spread = PURCHASE_PARTITIONS if kind == "purchase" else settings.partitions
        queues.setdefault((kind, order.randrange(spread)), []).append(event)
    turns = [source for source, events in queues.items() for _ in events]
    order.shuffle(turns)
    records = []
    for kind, partition in turns:
        event = queues[(kind, partition)].pop(0)
        key = event.customer_id.encode() if isinstance(event, Profile) else None
        records.append((settings.input_topics[kind], key, encode_event(event), partition))
    return records
