"""Batched sends (``streams.runtime.partition_batches``) put every record where a record-by-record
``send`` puts it, in the same order, with the same bytes and headers; a batch Kafka refuses
fails the wait for it.  Against the session's real broker; no worker."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from streams.runtime.partition_batches import Outgoing, PartitionBatches, delivered
from tests.support import kafka_io
from tests.support.topics import make_topic

pytestmark = pytest.mark.integration
PARTITIONS = 4


async def by_partition(bootstrap: str, topic: str) -> dict[int, list[tuple[bytes | None, bytes | None, list]]]:
    """Each partition's records of ``topic`` (key, value, headers), in offset order."""
    records = await kafka_io.read_all(bootstrap, [topic])
    return {p: [(r.key, r.value, list(r.headers)) for r in records if r.partition == p] for p in range(PARTITIONS)}


async def test_batches_land_where_and_as_single_sends_do(kafka_bootstrap: str):
    batched, single = (f"batches-{name}-{uuid.uuid4().hex[:8]}" for name in ("batched", "single"))
    for topic in (batched, single):
        await make_topic(kafka_bootstrap, topic, PARTITIONS)
    records = [
        (f"customer-{n % 37}".encode(), None if n % 50 == 7 else f"record {n} ".encode() * 8, [("n", str(n).encode())])
        for n in range(600)
    ]
    # Small batches, so that every partition's records fill several of them.
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, max_batch_size=2048, linger_ms=5)
    await producer.start()
    try:
        submitted = await PartitionBatches(producer).submit(Outgoing(batched, *record) for record in records)
        await delivered(submitted)
        for key, value, headers in records:
            await producer.send(single, value, key=key, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()

    assert len(submitted) > PARTITIONS  # full batches were submitted and new ones started
    assert sum(batch.records for batch in submitted) == len(records)
    landed = await by_partition(kafka_bootstrap, batched)
    assert sum(map(len, landed.values())) == len(records)
    assert landed == await by_partition(kafka_bootstrap, single)


async def test_a_given_partition_is_kept_and_offsets_are_known(kafka_bootstrap: str):
    topic = f"batches-given-{uuid.uuid4().hex[:8]}"
    await make_topic(kafka_bootstrap, topic, PARTITIONS)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        batches = PartitionBatches(producer)
        first = await batches.submit([Outgoing(topic, b"k", b"v", [], partition=3)] * 5)
        second = await batches.submit([Outgoing(topic, b"k", b"w", [], partition=3)] * 2)
        await delivered(first + second)
    finally:
        await producer.stop()

    assert [(batch.partition, batch.last_offset()) for batch in first + second] == [(3, 4), (3, 6)]
    found = await by_partition(kafka_bootstrap, topic)
    assert [value for _, value, _ in found[3]] == [b"v"] * 5 + [b"w"] * 2


async def test_a_batch_kafka_refuses_fails_the_wait(kafka_bootstrap: str):
    """A record over the topic's size limit: the broker refuses its batch, and ``delivered``
    raises (so the handler stops before it writes state or acknowledges anything)."""
    topic = f"batches-refused-{uuid.uuid4().hex[:8]}"
    await make_topic(kafka_bootstrap, topic, PARTITIONS, {"max.message.bytes": "2000"})
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, request_timeout_ms=5000)
    await producer.start()
    try:
        records = [Outgoing(topic, b"small", b"fits", []), Outgoing(topic, b"large", b"x" * 10_000, [])]
        submitted = await PartitionBatches(producer).submit(records)
        with pytest.raises(KafkaError):
            await delivered(submitted)
    finally:
        await producer.stop()
