"""Dead letters on the real broker: a 1 MB key and a 900 KB value are dead-lettered cut to fit,
with the original headers; a dead letter Kafka refuses stops the worker before the record's
offset is committed, and once Kafka takes it again the record is dead-lettered after all."""

from __future__ import annotations

import asyncio
import hashlib
import urllib.request

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import TopicPartition

from streams.runtime import dead_letters, provenance
from streams.runtime.agents import EXIT_UNHANDLED
from streams.runtime.settings import Settings
from tests.support.kafka_io import read_until
from tests.support.topics import admin_call

pytestmark = pytest.mark.integration

TRACE = ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
GOOD = b'{"event_id":"e-%d","customer_id":"c-1","occurred_at":"2024-02-01T10:00:00Z","order_id":"o","amount":1,"currency":"EUR"}'


async def send(settings: Settings, records: list[tuple[bytes | None, bytes | None]]) -> list[int]:
    """Send (key, value) records with a trace header to the purchases topic's partition 0; their offsets."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.broker, acks="all", max_request_size=2**20 + 2**16)
    await producer.start()
    try:
        topic = settings.input_topics["purchase"]
        sent = [await producer.send(topic, value, key=key, partition=0, headers=[TRACE]) for key, value in records]
        return [meta.offset for meta in await asyncio.gather(*sent)]
    finally:
        await producer.stop()


async def set_max_message_bytes(settings: Settings, limit: int) -> None:
    resource = ConfigResource(ConfigResourceType.TOPIC, settings.topic_dead_letters, {"max.message.bytes": str(limit)})
    await admin_call(settings.broker, lambda admin: admin.alter_configs([resource]))


async def committed(settings: Settings, partition: int) -> int | None:
    offsets = await admin_call(settings.broker, lambda admin: admin.list_consumer_group_offsets(settings.app_id))
    meta = offsets.get(TopicPartition(settings.input_topics["purchase"], partition))
    return meta.offset if meta is not None else None


async def test_oversized_keys_and_values_are_dead_lettered_cut_to_fit_with_their_headers(app_settings: Settings, worker_factory):
    settings = app_settings
    worker = worker_factory()
    key, value = b"k" * 1_000_000, b"v" * 900_000
    offsets = await send(settings, [(key, b"{not json"), (b"c-1", value)])

    letters = await read_until(settings.broker, [settings.topic_dead_letters], lambda got: len(got) >= 2)
    by_offset = {int(dead_letters.read_headers(list(letter.headers))["offset"]): letter for letter in letters}
    big_key, big_value = by_offset[offsets[0]], by_offset[offsets[1]]
    said = dead_letters.read_headers(list(big_key.headers))
    assert (big_key.key, big_key.value, said["reason"]) == (key[:1024], b"{not json", "malformed_json")
    assert (said["key_bytes"], said["key_sha256"]) == ("1000000", hashlib.sha256(key).hexdigest())
    said = dead_letters.read_headers(list(big_value.headers))
    assert (big_value.key, big_value.value, said["reason"]) == (b"c-1", value[: 256 * 1024], "oversize")
    assert (said["value_bytes"], said["value_sha256"]) == ("900000", hashlib.sha256(value).hexdigest())
    assert all(TRACE in list(letter.headers) for letter in letters)  # issue #18, item 15

    assert worker.alive(), worker.tail()
    # A dead letter is counted once Kafka acknowledged it, which a reader may see first.
    deadline = asyncio.get_running_loop().time() + 10
    while worker.metric("winback_dead_letters_total") < 2 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{worker.env['WINBACK_WEB_PORT']}/metrics").read().decode()
    assert 'winback_dead_letters_total{reason="malformed_json",type="purchase"} 1.0' in metrics
    assert 'winback_dead_letters_total{reason="oversize",type="purchase"} 1.0' in metrics


async def test_a_dead_letter_kafka_refuses_stops_the_worker_before_its_offset_is_committed(
    app_settings: Settings, worker_factory
):
    settings = app_settings
    await set_max_message_bytes(settings, 100)  # smaller than any dead letter: each send fails
    good, bad, later = await send(settings, [(b"c-1", GOOD % 1), (b"c-1", b"{not json"), (b"c-1", GOOD % 2)])
    worker = worker_factory()
    assert await asyncio.to_thread(worker.process.wait, 60) == EXIT_UNHANDLED
    log = worker.log_path.read_text(errors="replace")
    assert f"cannot dead-letter {settings.input_topics['purchase']}:0@{bad}" in log, worker.tail()
    assert "exiting without committing its offset" in log
    assert (await committed(settings, 0) or 0) <= bad  # neither the record nor any after it

    await set_max_message_bytes(settings, 1_048_588)  # Kafka's default again
    await asyncio.to_thread(worker.start)
    [letter] = await read_until(settings.broker, [settings.topic_dead_letters], lambda got: len(got) >= 1)
    said = dead_letters.read_headers(list(letter.headers))
    assert (int(said["offset"]), said["reason"], letter.value) == (bad, "malformed_json", b"{not json")
    forwarded = await read_until(
        settings.broker, [settings.topic_events],
        lambda got: later in {getattr(provenance.read(list(r.headers)), "offset", None) for r in got},
    )
    assert good in {provenance.read(list(record.headers)).offset for record in forwarded}
    assert worker.alive(), worker.tail()
