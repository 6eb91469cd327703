"""Handing a batch's records to Kafka a partition at a time instead of a record at a time.

``producer.send`` costs some 30-50 µs a record in Python: metadata and transaction checks, the
partitioner, a future per record and its callbacks.  The customers handler already knows a
whole batch of records before it sends any, so it fills one aiokafka batch per partition
(``AIOKafkaProducer.create_batch``), closes it and submits it (``send_batch``): one future per
partition, resolved when Kafka acknowledged the whole batch.  A record's partition is the one
the producer's default partitioner would give its key (``streams.runtime.partitioning``), so
keyed outputs, the compacted stage topic and the changelog land where they did record by record.

Order is kept: a partition's records go in the order given, in one batch or, when it fills
(``producer_max_batch_size``), in several submitted one after another, and aiokafka sends a
partition's batches in the order they were submitted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

import faust
from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import RecordMetadata

from streams.runtime.faust_patches import all_settled, kafka_producer
from streams.runtime.partitioning import partition_of

Headers = list[tuple[str, bytes]]


class Outgoing(NamedTuple):
    """A record for Kafka: its topic, key, value (None: a tombstone), headers, and partition
    (None: the default partitioner's for its key)."""

    topic: str
    key: bytes
    value: bytes | None
    headers: Headers
    partition: int | None = None


@dataclass
class Submitted:
    """One batch handed to the producer: where it goes, how many records, and its delivery
    (resolves to the metadata of its first record, or raises if Kafka did not take it)."""

    topic: str
    partition: int
    records: int
    delivery: asyncio.Future[RecordMetadata] = field(repr=False)

    def last_offset(self) -> int:
        """The offset of the batch's last record, once delivered."""
        return self.delivery.result().offset + self.records - 1


class PartitionBatches:
    """Fills and submits one aiokafka batch per topic partition for a run of records."""

    def __init__(self, producer: AIOKafkaProducer):
        self.producer = producer

    async def submit(self, records: Iterable[Outgoing]) -> list[Submitted]:
        """Hand ``records`` to the producer, one closed batch per partition (more when one
        fills); return the batches without waiting for Kafka.  Only a topic's first record and
        a full batch are awaited: the rest is filled without a coroutine per record."""
        filling = _Filling(self.producer)
        for record in records:
            partition = record.partition
            if partition is None:
                count = filling.partitions.get(record.topic) or await filling.partition_count(record.topic)
                partition = partition_of(record.key, count)
            where = (record.topic, partition)
            if not filling.add(where, record):  # its batch is full: submit it and start the next
                await filling.submit(where)
                filling.add(where, record)  # a batch's first record always fits (aiokafka takes an oversized one alone)
        for where in list(filling.open):
            await filling.submit(where)
        return filling.submitted


class _Filling:
    """The batches of one ``PartitionBatches.submit``: those still open, and those submitted."""

    def __init__(self, producer: AIOKafkaProducer):
        self.producer = producer
        self.open: dict[tuple[str, int], BatchBuilder] = {}
        self.submitted: list[Submitted] = []
        self.partitions: dict[str, int] = {}  # topic -> how many partitions it has

    async def partition_count(self, topic: str) -> int:
        """How many partitions ``topic`` has, as the producer's metadata says (waiting for it as
        ``send`` does)."""
        if topic not in self.partitions:
            self.partitions[topic] = len(await self.producer.partitions_for(topic))
        return self.partitions[topic]

    def add(self, where: tuple[str, int], record: Outgoing) -> bool:
        """Add ``record`` to its partition's open batch (a new one if none is open); False: the
        batch is full, and the record is not in it."""
        builder = self.open.get(where)
        if builder is None:
            builder = self.open[where] = self.producer.create_batch()
        return builder.append(timestamp=None, key=record.key, value=record.value, headers=record.headers) is not None

    async def submit(self, where: tuple[str, int]) -> None:
        """Close the partition's open batch (so the sender takes it without lingering and no
        ``send`` adds to it) and hand it to the producer."""
        builder = self.open.pop(where)
        builder.close()
        topic, partition = where
        delivery = await self.producer.send_batch(builder, topic, partition=partition)
        self.submitted.append(Submitted(topic, partition, builder.record_count(), delivery))


async def delivered(batches: Iterable[Submitted]) -> None:
    """Return once Kafka acknowledged every batch; raise the first failure."""
    await all_settled(batch.delivery for batch in batches)


async def before_commit(app: faust.App, records: Iterable[Outgoing]) -> list[Submitted]:
    """Hand ``records`` to the app's Kafka client in batches without waiting for them; the next
    offset commit waits for every one (``DurableProducer.track``) and fails if one failed."""
    submitted = await PartitionBatches(kafka_producer(app)).submit(records)
    for batch in submitted:
        app.producer.track(batch.delivery)  # type: ignore[attr-defined]  # a DurableProducer
    return submitted
