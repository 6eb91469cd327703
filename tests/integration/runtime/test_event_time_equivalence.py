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
import itertools
import random
import time
from datetime import datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from streams.admin.topics import ensure_topics
from streams.backtest.run import run_backtest
from streams.devtools import testing
from streams.devtools.publisher import publish
from streams.devtools.spawn import WorkerProcess, worker_env
from streams.devtools.traffic import generate_history
from streams.model.events import AnyInput, Erasure, Profile, encode_event
from streams.model.records import STAGES, Record
from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.partitioning import partition_of
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
    erasures = _one_erasure_per_partition(replay.log, replay.settings.partitions)
    asyncio.run(publish(replay.settings, erasures))
    replay.check_stages(erased={event.customer_id for event in erasures if isinstance(event, Erasure)})


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
        outputs = self.settings.output_topics
        try:
            records = asyncio.run(read_until(self.settings.broker, outputs, lambda got: {published_id(r) for r in got} >= decided.keys(), timeout=60))
        except TimeoutError as error:
            records = error.records  # type: ignore[attr-defined]
        published = {published_id(record): record.value for record in records}
        missing, unexpected = sorted(decided.keys() - published.keys()), sorted(published.keys() - decided.keys())
        if missing or unexpected:
            raise AssertionError(self._explained(
                f"{len(missing)} of the backtest's {len(decided)} records not published (in 60 s), {len(unexpected)} published "
                f"that it does not decide\nmissing, e.g. {[decided[id_] for id_ in missing[:3]]}\n"
                f"unexpected, e.g. {[published[id_] for id_ in unexpected[:3]]}"
            ))

    def check_stages(self, erased: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """A fresh consumer of the stage topic (latest value per key, tombstones removing) counts
        exactly the customers per stage that the workers hold (and no longer has the ``erased``)."""
        deadline = time.monotonic() + 30
        while True:
            topic = asyncio.run(read_all(self.settings.broker, [self.settings.topic_customer_stage]))
            stages = {customer: msgspec.json.decode(value)["stage"] for customer, value in latest_by_key(topic).items() if value is not None}
            counted = {stage: sum(1 for got in stages.values() if got == stage) for stage in STAGES}
            if not all(worker.alive() for worker in self.workers):
                raise AssertionError(self._explained("a worker exited"))
            gauges = [{stage: worker.metric(f'winback_customers{{stage="{stage}"}}') for stage in STAGES} for worker in self.workers]
            held = {stage: sum(gauge[stage] for gauge in gauges) for stage in STAGES}
            if counted == held and not erased & stages.keys():
                return
            if time.monotonic() > deadline:
                raise AssertionError(self._explained(
                    f"after 30 s the stage topic counts {counted}, the workers' gauges add up to {held} (each: {gauges}); "
                    f"erased customers still on the topic: {sorted(erased & stages.keys())}"
                ))
            time.sleep(0.5)

    def _explained(self, problem: str) -> str:
        """``problem``, then each worker's state, its log's lines about rebalances (how many held
        events each forgot) and the end of its log."""
        parts = [f"{problem}\n(consumer group {self.settings.app_id})"]
        for worker in self.workers:
            state = "running" if worker.alive() else f"exited with {worker.process.returncode if worker.process else None}"
            log = worker.log_path.read_text(errors="replace")
            rebalances = [line for line in log.splitlines() if "a rebalance:" in line]
            parts.append(f"--- {worker.log_path} ({state}); rebalances:\n" + "\n".join(rebalances) + f"\n--- its last lines:\n{worker.tail(40)}")
        return "\n".join(parts)


def _one_erasure_per_partition(log: list[AnyInput], partitions: int) -> list[AnyInput]:
    """An erasure on each profiles partition (as a keyed producer places it), partition p's
    ``p + 1`` hours after the log's end: of a customer of ``log`` keyed there, or where the log
    has none (a log of a few customers misses one in some 3 % of runs, which failed this test),
    of a newcomer keyed there, who first sends a profile half an hour after the log's end."""
    end = max(event.occurred_at for event in log)
    keyed: dict[int, str] = {}
    for customer in sorted({event.customer_id for event in log}):
        keyed.setdefault(partition_of(customer.encode(), partitions), customer)
    newcomers = (f"newcomer-{number}" for number in itertools.count())
    events: list[AnyInput] = []
    for partition in range(partitions):
        if partition not in keyed:
            keyed[partition] = next(name for name in newcomers if partition_of(name.encode(), partitions) == partition)
            events.append(testing.profile(keyed[partition], end + timedelta(minutes=30)))
        events.append(Erasure(customer_id=keyed[partition], erased_at=end + timedelta(hours=partition + 1)))
    return events


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
