"""The app's Kafka clients never make the broker create a topic, though the broker would.

The test broker keeps Kafka's default ``auto.create.topics.enable=true``, as a shop's cluster
may: a metadata request naming a missing topic would create it with the broker's partition
count and no compaction.  ``forbid_topic_auto_creation`` (applied by every ``DurableApp`` and
by the traffic publisher) makes aiokafka ask without that.
"""

from __future__ import annotations

import uuid

import aiokafka.client
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import UnknownTopicOrPartitionError

from streams.runtime.faust_patches import forbid_topic_auto_creation
from tests.support.topics import admin_call

pytestmark = pytest.mark.integration
BROKER_ID = "1"  # node.id of the single-node test broker


@pytest.fixture
async def missing_topic(kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A topic name nobody created, on a broker that would auto-create it, with auto-creation
    forbidden for this test (aiokafka's own request is put back afterwards)."""
    resource = ConfigResource(ConfigResourceType.BROKER, BROKER_ID, {"auto.create.topics.enable": None})
    [response] = await admin_call(kafka_bootstrap, lambda admin: admin.describe_configs([resource]))
    [entry] = response.to_object()["resources"][0]["config_entries"]
    assert entry["config_value"] == "true", "the test broker must be one that auto-creates topics"
    monkeypatch.setattr(aiokafka.client, "MetadataRequest", aiokafka.client.MetadataRequest)
    forbid_topic_auto_creation()
    return f"never-created-{uuid.uuid4().hex[:10]}"


async def exists(bootstrap: str, topic: str) -> bool:
    return topic in await admin_call(bootstrap, lambda admin: admin.list_topics())


async def test_a_send_to_a_missing_topic_fails_in_time_and_creates_nothing(kafka_bootstrap: str, missing_topic: str):
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, request_timeout_ms=2000)
    await producer.start()
    try:
        with pytest.raises(UnknownTopicOrPartitionError):  # after the request timeout, not a hang
            await producer.send(missing_topic, b"record")
    finally:
        await producer.stop()

    assert not await exists(kafka_bootstrap, missing_topic)


async def test_a_consumer_of_a_missing_topic_fails_in_time_and_creates_nothing(kafka_bootstrap: str, missing_topic: str):
    consumer = AIOKafkaConsumer(missing_topic, bootstrap_servers=kafka_bootstrap, request_timeout_ms=2000)
    try:
        with pytest.raises(UnknownTopicOrPartitionError):  # it asked for the topic until its request timeout
            await consumer.start()
    finally:
        await consumer.stop()

    assert not await exists(kafka_bootstrap, missing_topic)
