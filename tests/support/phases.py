"""Driving the workload through real workers in two phases, and checking that nothing was lost.

Every scenario disrupts phase two in its own way (kill -9, a rebalance, a broker outage) and
then asks the same questions: did every expected record come out, is every copy of a record
byte for byte the expected one (so duplicates only ever share an id), and does the activity
table's changelog hold exactly the states the pure engine computes?
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Callable

import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from streams.model.activity import CustomerActivity
from streams.runtime.settings import Settings
from streams.admin.topics import changelog_topic
from streams.devtools.spawn import WorkerProcess
from tests.support.expected import Applied, with_input_positions
from tests.support.kafka_io import latest_by_key, produce, published_id, read_until
from tests.support.workload import LATER, START, Workload

# Due customers one scheduler tick may publish in phase two: spreads the firing over many
# seconds, so a disruption lands while due transitions and arriving events are both in flight.
DUE_PER_TICK = 35


class PhasedRun:
    """One workload on one test's topics and workers."""

    def __init__(self, settings: Settings, workload: Workload, start_worker: Callable[..., WorkerProcess]):
        self.settings = settings
        self.workload = workload
        self.start_worker = start_worker
        self.expected = set(workload.records)
        self.streamed = 0  # arriving purchases acknowledged by the broker so far

    async def load_history(self, name: str = "worker") -> WorkerProcess:
        """Phase one: a worker whose clock is before all history applies it; returns it once every state is in."""
        worker = await asyncio.to_thread(self.start_worker, name, WINBACK_CLOCK=f"fixed:{START.isoformat()}")
        topic = self.settings.topic_purchases
        history = [(topic, p.customer_id.encode(), msgspec.json.encode(p)) for p in self.workload.history]
        await produce(self.settings.broker, history)
        await wait_for_table(self.settings, self.workload.loaded, timeout=120)
        return worker

    def later(self) -> dict[str, str]:
        """The environment of a phase-two worker."""
        return {"WINBACK_CLOCK": f"fixed:{LATER.isoformat()}", "WINBACK_TICK_MAX_DUE": str(DUE_PER_TICK)}

    async def restart_later(self, worker: WorkerProcess) -> None:
        """Stop a phase-one worker gracefully and start it again in phase two."""
        await asyncio.to_thread(worker.stop)
        worker.env.update(self.later())
        await asyncio.to_thread(worker.start)

    async def stream_arrivals(self, seconds: float, part: slice = slice(None)) -> None:
        """Produce (a ``part`` of) the arriving customers' purchases at a steady rate over ``seconds``."""
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.broker, acks="all", linger_ms=5)
        await producer.start()
        try:
            began = time.monotonic()
            arrivals = self.workload.arrivals[part]
            for number, purchase in enumerate(arrivals):
                await asyncio.sleep(max(0.0, began + seconds * number / len(arrivals) - time.monotonic()))
                delivery = await producer.send(
                    self.settings.topic_purchases, msgspec.json.encode(purchase), key=purchase.customer_id.encode()
                )
                delivery.add_done_callback(self._count_streamed)
            await producer.flush()
        finally:
            await producer.stop()

    def _count_streamed(self, delivery: asyncio.Future) -> None:
        if not delivery.cancelled() and delivery.exception() is None:
            self.streamed += 1

    async def wait_for_progress(self, share: float, timeout: float = 90) -> int:
        """Wait until ``share`` of phase two's records are out; how many distinct expected ids are."""
        workload = self.workload
        needed = workload.loaded_records + share * (len(self.expected) - workload.loaded_records)
        records = await read_until(
            self.settings.broker, self.settings.output_topics,
            lambda got: len({published_id(r) for r in got} & self.expected) >= needed, timeout,
        )
        return len({published_id(record) for record in records} & self.expected)

    async def wait_for_everything(self, timeout: float = 120) -> list[ConsumerRecord]:
        """Every record published (then the caller checks them), or fail saying how many are missing."""
        try:
            return await read_until(
                self.settings.broker, self.settings.output_topics,
                lambda got: {published_id(r) for r in got} >= self.expected, timeout,
            )
        except TimeoutError as error:
            got = {published_id(record) for record in error.records}  # type: ignore[attr-defined]
            missing = sorted(self.expected - got)
            message = f"{len(missing)} of {len(self.expected)} records never published, e.g. {missing[:3]}"
            raise AssertionError(message) from error

    def check_records(self, records: list[ConsumerRecord]) -> dict[str, int]:
        """Exactly the expected ids, every copy equal to the expected record; the figures to report."""
        return check_copies(records, self.workload.records)


def check_copies(records: list[ConsumerRecord], expected: dict[str, bytes]) -> dict[str, int]:
    """Exactly the ids of ``expected`` (id -> the record's JSON), every copy equal to its
    expected record; the figures to report (``duplicates``: copies beyond the first)."""
    copies = Counter(published_id(record) for record in records)
    unexpected, missing = sorted(copies.keys() - expected.keys()), sorted(expected.keys() - copies.keys())
    assert not unexpected and not missing, f"unexpected ids: {unexpected[:3]}, missing: {missing[:3]}"
    for record in records:
        assert record.value == expected[published_id(record)], (record.topic, record.value)
    return {
        "published": len(records),
        "distinct_ids": len(copies),
        "duplicates": len(records) - len(copies),
        "ids_published_twice_or_more": sum(1 for count in copies.values() if count > 1),
    }


def table_of(changelog: list[ConsumerRecord]) -> dict[str, CustomerActivity]:
    """The table its changelog records make: the latest state of each customer."""
    return {key: CustomerActivity.decode(value) for key, value in latest_by_key(changelog).items() if value is not None}


async def wait_for_table(
    settings: Settings, expected: dict[str, CustomerActivity], timeout: float = 60,
    applied: Applied = lambda partition, event: True,
) -> None:
    """The table's changelog holds exactly ``expected`` (latest record per customer), every field,
    the input offsets applied included (read back from the input topics: those ``applied`` names).

    Nothing is excluded: a redelivered event is recognised as a duplicate and changes nothing
    (not even the order of the dedupe ring), and a state write lost in a crash is redone when
    its uncommitted input is handled again.  A write lost while its input was committed would
    show here as a difference.
    """
    changelog = changelog_topic(settings)
    expected = await with_input_positions(settings, expected, applied)
    try:
        await read_until(settings.broker, [changelog], lambda got: table_of(got) == expected, timeout)
    except TimeoutError as error:
        actual = table_of(error.records)  # type: ignore[attr-defined]
        wrong = [key for key in expected if actual.get(key) != expected[key]][:3]
        extra = sorted(set(actual) - set(expected))[:3]
        detail = "\n".join(f"{key}:\n  expected {expected[key]}\n  actual   {actual.get(key)}" for key in wrong)
        raise AssertionError(f"table differs (unexpected keys {extra}):\n{detail}") from error
