"""A fetch hands back to Kafka the records Faust would throw away.

Faust throws away records its consumer thread fetched once the flow has stopped (a rebalance
began); for a changelog partition being restored nothing seeks them back, and the recovery
waits for ever.  It also throws away those of a partition paused while the fetch waited, and
the Kafka client reads the emptied set of active partitions as "every partition": after a
recovery paused its changelog partitions, the stream partitions' records went the same way,
and nothing but a later seek could bring them back.  The worker's consumer thread seeks such
a batch back to its first record.  Real broker, real Kafka client and the worker's own Faust
consumer thread; the fetch is the thread's own, only run on the test's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.runtime.faust_patches import HandBackConsumerThread
from streams.runtime.settings import Settings
from streams.runtime.topology import create_app
from tests.support.kafka_io import produce
from tests.support.topics import make_topic

pytestmark = pytest.mark.integration


@asynccontextmanager
async def new_partitions(bootstrap: str, count: int = 1) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """``count`` new one-partition topics, read by a plain Kafka client from their start (made
    on the test's own event loop, which the client's background fetcher runs on)."""
    tps = [TopicPartition(f"hand-back-{uuid.uuid4().hex[:10]}", 0) for _ in range(count)]
    for tp in tps:
        await make_topic(bootstrap, tp.topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, metadata_max_age_ms=500)
    await consumer.start()
    try:
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        yield consumer, tps
    finally:
        await consumer.stop()


@pytest.fixture
def thread(kafka_bootstrap: str) -> HandBackConsumerThread:
    app = create_app(Settings(broker=kafka_bootstrap, app_id=f"hand-back-{uuid.uuid4().hex[:6]}"))
    consumer_thread = app.consumer._thread
    assert isinstance(consumer_thread, HandBackConsumerThread)
    return consumer_thread


def values(records) -> list[bytes]:
    return [record.value for batch in records.values() for record in batch]


async def test_a_fetch_returning_after_the_flow_stopped_is_fetched_again(kafka_bootstrap, thread, caplog):
    async with new_partitions(kafka_bootstrap) as (consumer, [tp]):
        fetch = asyncio.ensure_future(thread._fetch_records(consumer, {tp}, timeout=10.0))
        await asyncio.sleep(0.2)  # the fetch is waiting for records
        thread.consumer.stop_flow()  # a rebalance begins
        with caplog.at_level(logging.INFO, logger="streams.runtime.faust_patches"):
            await produce(kafka_bootstrap, [(tp.topic, None, b"one"), (tp.topic, None, b"two")])
            assert await asyncio.wait_for(fetch, 15) == {}, "records went to a stopped flow"
        assert "handed back 2 records" in caplog.text  # they were fetched, then handed back
        assert await consumer.position(tp) == 0

        thread.consumer.resume_flow()  # the recovery resumes the flow
        again = await thread._fetch_records(consumer, {tp}, timeout=10.0)
        assert values(again) == [b"one", b"two"]


async def test_a_fetch_while_the_flow_runs_is_delivered(kafka_bootstrap, thread):
    async with new_partitions(kafka_bootstrap) as (consumer, [tp]):
        await produce(kafka_bootstrap, [(tp.topic, None, b"one"), (tp.topic, None, b"two")])
        records = await thread._fetch_records(consumer, {tp}, timeout=10.0)
        assert values(records) == [b"one", b"two"]
        assert await consumer.position(tp) == 2


async def test_a_fetch_returning_after_its_partitions_were_paused_is_fetched_again(kafka_bootstrap, thread, caplog):
    async with new_partitions(kafka_bootstrap, 2) as (consumer, [changelog, stream]):
        active = {changelog}  # Faust's live set: a recovery reads a changelog, the stream waits
        await produce(kafka_bootstrap, [(stream.topic, None, b"arrived during the recovery")])
        fetch = asyncio.ensure_future(thread._fetch_records(consumer, active, timeout=10.0))
        await asyncio.sleep(0.5)  # the fetch is waiting for the changelog's records
        active.discard(changelog)  # the recovery is done: it pauses the changelog
        with caplog.at_level(logging.INFO, logger="streams.runtime.faust_patches"):
            await produce(kafka_bootstrap, [(changelog.topic, None, b"written by the new owner")])
            assert await asyncio.wait_for(fetch, 15) == {}, "records of paused partitions went to Faust"
        assert "handed back" in caplog.text
        assert [await consumer.position(tp) for tp in (changelog, stream)] == [0, 0]

        active |= {stream}  # the stream partition resumes
        again = await thread._fetch_records(consumer, active, timeout=10.0)
        assert values(again) == [b"arrived during the recovery"]
