"""Small aiokafka helpers for integration tests: produce raw records, read a topic to a condition.

``bootstrap`` is a plaintext broker's ``host:port``, or the whole connection of a secured one:
``streams.runtime.connection.client_options(settings)``.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Collection, Mapping, Sequence

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord, TopicPartition


Connection = str | dict[str, Any]


def connection_options(bootstrap: Connection) -> dict[str, Any]:
    """The keyword arguments of a client for ``bootstrap`` (see the module's docstring)."""
    return {"bootstrap_servers": bootstrap} if isinstance(bootstrap, str) else bootstrap


async def produce(bootstrap: Connection, records: Sequence[tuple[str, bytes | None, bytes] | tuple[str, bytes | None, bytes, int]]) -> None:
    """Send (topic, key, value) records, or (topic, key, value, partition), in order, and wait
    until all are acknowledged (without a partition the producer picks one by key)."""
    producer = AIOKafkaProducer(**connection_options(bootstrap), acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key, partition=where[0] if where else None) for topic, key, value, *where in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()



@asynccontextmanager
async def producing(bootstrap: Connection, records: Sequence[tuple[str, bytes | None, bytes]]) -> AsyncIterator[None]:
    """Produce ``records`` (as ``produce``) while the body runs, so that a disruption it makes lands
    while they are still produced; wait for all of them after the body, stop producing if it fails."""
    sending = asyncio.create_task(produce(bootstrap, records))
    try:
        yield
    except BaseException:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)  # its producer stopped here, not in a later test
        raise
    await sending

def published_id(record: ConsumerRecord) -> str:
    """The de-duplication id of a published trigger, command, skip, outcome, engagement or retraction (an outcome also
    names its trigger, a skip or engagement its command: their own id is looked for first)."""
    document = msgspec.json.decode(record.value)
    return next(document[key] for key in ("erasure_id", "retraction_id", "outcome_id", "engagement_id", "skip_id", "command_id", "trigger_id") if key in document)


async def read_until(
    bootstrap: Connection,
    topics: list[str],
    done: Callable[[list[ConsumerRecord]], bool],
    timeout: float = 60.0,
) -> list[ConsumerRecord]:
    """Read ``topics`` from the beginning until ``done(records)`` holds; fail after ``timeout``."""
    consumer = AIOKafkaConsumer(
        *topics, **connection_options(bootstrap), auto_offset_reset="earliest", enable_auto_commit=False,
        metadata_max_age_ms=1000,
    )
    records: list[ConsumerRecord] = []
    await consumer.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not done(records):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                error = TimeoutError(f"condition not met after {timeout}s with {len(records)} records from {topics}")
                error.records = records  # type: ignore[attr-defined]  (for a failing test to explain itself)
                raise error
            batches = await consumer.getmany(timeout_ms=int(min(remaining, 1.0) * 1000))
            for batch in batches.values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def read_published(
    bootstrap: Connection, topics: list[str], expected: Mapping[str, Any], timeout: float = 60.0
) -> list[ConsumerRecord]:
    """Read ``topics`` until every record of ``expected`` (by id) is published; after ``timeout``
    fail saying how many are missing (the first few of them) and how many others came."""
    try:
        return await read_until(bootstrap, topics, lambda got: {published_id(r) for r in got} >= expected.keys(), timeout)
    except TimeoutError as error:
        got = {published_id(record) for record in error.records}  # type: ignore[attr-defined]
        missing = [expected[id_] for id_ in sorted(expected.keys() - got)]
        raise AssertionError(f"{len(missing)} of {len(expected)} missing, {len(got - expected.keys())} unexpected; e.g. {missing[:2]}") from error


async def assert_nothing_else_published(bootstrap: Connection, topics: list[str], expected: Collection[str], wait: float) -> None:
    """Read ``topics`` from the beginning for ``wait`` seconds and fail on any published record
    whose id is not in ``expected``: after every expected record arrived, a worker that keeps
    running (a clock's next idle period, a tick) must not publish more."""
    try:
        records = await read_until(bootstrap, topics, lambda got: bool({published_id(r) for r in got} - set(expected)), wait)
    except TimeoutError:
        return
    others = sorted({published_id(record) for record in records} - set(expected))
    raise AssertionError(f"{len(others)} published beyond the {len(expected)} expected; e.g. {others[:2]}")


async def read_all(bootstrap: str, topics: list[str]) -> list[ConsumerRecord]:
    """Every record of ``topics`` up to their end offsets as of the call."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    position: dict[TopicPartition, int] = {}  # next offset to read

    async def fetch() -> None:
        for partition, batch in (await consumer.getmany(timeout_ms=500)).items():
            records.extend(batch)
            position[partition] = batch[-1].offset + 1

    try:
        while not consumer.assignment():
            await fetch()
        ends = await consumer.end_offsets(list(consumer.assignment()))
        while any(position.get(partition, 0) < end for partition, end in ends.items()):
            await fetch()
        return records
    finally:
        await consumer.stop()


def latest_by_key(records) -> dict[str, bytes | None]:
    """The last value of each key, as a compacted topic keeps it (None: a tombstone)."""
    latest: dict[str, bytes | None] = {}
    for record in records:
        latest[record.key.decode()] = record.value
    return latest


async def committed_offsets(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    """``group``'s committed offset of each (topic, partition) it committed one for, asked from the broker."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        return {(tp.topic, tp.partition): position.offset for tp, position in committed.items() if position.offset >= 0}
    finally:
        await admin.close()


async def group_lag(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """Per partition of ``topic``: its end offset minus ``group``'s committed offset (the log start
    when the group committed none), asked from the broker as Kafka's own tools do."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        [described] = await admin.describe_topics([topic])
        partitions = sorted(TopicPartition(topic, partition["partition"]) for partition in described["partitions"])
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        return {
            tp.partition: ends[tp] - (committed[tp].offset if committed.get(tp) and committed[tp].offset >= 0 else starts[tp])
            for tp in partitions
        }
    finally:
        await consumer.stop()
        await admin.close()
