"""A fetch that returns after the flow stopped hands its records back to Kafka.

Faust throws away records its consumer thread fetched once the flow has stopped (a rebalance
began); for a changelog partition being restored nothing seeks them back, and the recovery
waits for ever.  The worker's consumer thread seeks such a batch back to its first record.
Real broker, real Kafka client and the worker's own Faust consumer thread; the fetch is the
thread's own, only run on the test's event loop.
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
async def new_partition(bootstrap: str) -> AsyncIterator[tuple[AIOKafkaConsumer, TopicPartition]]:
    """A new one-partition topic, read by a plain Kafka client from its start (made on the
    test's own event loop, which the client's background fetcher runs on)."""
    tp = TopicPartition(f"hand-back-{uuid.uuid4().hex[:10]}", 0)
    await make_topic(bootstrap, tp.topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, metadata_max_age_ms=500)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, 0)
        yield consumer, tp
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
    async with new_partition(kafka_bootstrap) as (consumer, tp):
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
    async with new_partition(kafka_bootstrap) as (consumer, tp):
        await produce(kafka_bootstrap, [(tp.topic, None, b"one"), (tp.topic, None, b"two")])
        records = await thread._fetch_records(consumer, {tp}, timeout=10.0)
        assert values(records) == [b"one", b"two"]
        assert await consumer.position(tp) == 2
