"""Writing backfilled states into the workers' activity table, through its changelog topic.

A Faust table is its changelog: a worker that is assigned a partition reads the partition's
changelog into its store, then indexes every customer in it as due (``Scheduler.rebuild``).
So the backfill writes each customer's state as the worker itself would: key the customer
id's UTF-8 bytes, value the msgpack ``CustomerActivity``, both raw, to the partition the
worker's customer-keyed topics give the key (Kafka's murmur2 partitioner,
``runtime.partitioning``).

It is safe to repeat and never overwrites what a worker knows:

* no worker of the group may run meanwhile (it would not read the new records into a table
  it has already recovered, and it might write the same keys): a group with members is
  refused with a one-line error;
* a customer whose latest changelog value was written by a worker (a state with applied
  input offsets, an erasure's marker, or a deleted key: an erased customer) is left as it is;
  only customers never seen live, or written by an earlier backfill, are written.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from streams.admin.topics import admin_client, changelog_topic
from streams.model.activity import CustomerActivity
from streams.runtime.connection import client_options
from streams.runtime.partitioning import partition_of
from streams.runtime.settings import Settings

_ACTIVE_GROUP_STATES = frozenset({"PreparingRebalance", "CompletingRebalance", "Stable"})
_SENDS_PER_WAIT = 20_000  # records handed to the producer before waiting for their acknowledgement


class WorkerRunning(Exception):
    """A worker of the group is running: its table would not see the backfill."""


@dataclass(frozen=True)
class Written:
    """What the backfill wrote: customers written, and those left as a worker keeps them."""

    written: int
    kept_live: int


async def write_states(
    settings: Settings, states: Mapping[str, CustomerActivity], *, on_written: Callable[[int], None] = lambda count: None
) -> Written:
    """Write ``states`` into the activity changelog, but for customers a worker already keeps.

    Raises ``WorkerRunning`` when the consumer group ``WINBACK_APP_ID`` has members.
    ``on_written`` is told how many records were acknowledged, batch by batch.
    """
    await refuse_if_running(settings)
    live = await live_customers(settings, states)
    producer = AIOKafkaProducer(
        **client_options(settings),
        acks="all",
        linger_ms=20,
        max_batch_size=262144,
        request_timeout_ms=round(settings.broker_timeout * 1000),
    )
    topic, partitions, pending = changelog_topic(settings), settings.partitions, []
    await producer.start()
    try:
        for customer_id, state in states.items():
            if customer_id in live:
                continue
            key = customer_id.encode()
            pending.append(await producer.send(topic, state.encode(), key=key, partition=partition_of(key, partitions)))
            if len(pending) >= _SENDS_PER_WAIT:
                await _acknowledged(pending, on_written)
        await _acknowledged(pending, on_written)
    finally:
        await producer.stop()
    return Written(len(states) - len(live), len(live))


async def _acknowledged(pending: list, on_written: Callable[[int], None]) -> None:
    """Wait for every pending send's acknowledgement (raising the first failure), then clear them."""
    for sent in pending:
        await sent
    on_written(len(pending))
    pending.clear()


async def refuse_if_running(settings: Settings) -> None:
    """Raise ``WorkerRunning`` when the consumer group of the workers has members."""
    async with admin_client(settings) as admin:
        responses = await _describe_group(admin, settings)
    for response in responses:
        for group in response.groups:
            _error, group_id, state, _protocol_type, _protocol, members = group[:6]
            if members or state in _ACTIVE_GROUP_STATES:
                raise WorkerRunning(
                    f"{len(members)} worker(s) of the consumer group {group_id} (WINBACK_APP_ID) are running; "
                    "stop them, backfill, then start them again"
                )


async def _describe_group(admin: AIOKafkaAdminClient, settings: Settings) -> list:
    """The group's description; a new cluster has no group coordinator until its offsets topic is
    made (the first request makes it), so that answer is retried for up to WINBACK_BROKER_TIMEOUT."""
    deadline = time.monotonic() + settings.broker_timeout
    while True:
        try:
            return await admin.describe_consumer_groups([settings.app_id])
        except GroupCoordinatorNotAvailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def live_customers(settings: Settings, wanted: Mapping[str, object]) -> set[str]:
    """The customers among ``wanted`` whose latest changelog value a worker wrote."""
    topic = changelog_topic(settings)
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=round(settings.broker_timeout * 1000),
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, partition) for partition in range(settings.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = {tp: end for tp, end in (await consumer.end_offsets(partitions)).items() if end > 0}
        latest: dict[str, bytes | None] = {}
        while ends:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    customer_id = record.key.decode() if record.key is not None else None
                    if customer_id in wanted:
                        latest[customer_id] = record.value
            for tp in list(ends):
                if await consumer.position(tp) >= ends[tp]:
                    del ends[tp]
    finally:
        await consumer.stop()
    return {customer_id for customer_id, value in latest.items() if _written_live(value)}


def _written_live(value: bytes | None) -> bool:
    """Whether a changelog value is a worker's: a deleted key, an erasure marker or a state with applied input."""
    if value is None:
        return True
    state = CustomerActivity.decode(value)
    return state.is_erased() or bool(state.applied)
