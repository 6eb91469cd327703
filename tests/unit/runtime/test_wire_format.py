"""Reading input records in the Confluent wire format: each format's record becomes the same event
as its plain JSON twin, and every record that cannot be read gets a reason.

The registry here is confluent-kafka's in-memory one (the serializers' own test registry): what
is tested is the decoding; tests/integration/runtime/test_schema_registry.py runs the same
records through a real registry and a worker.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from confluent_kafka.schema_registry._async.mock_schema_registry_client import AsyncMockSchemaRegistryClient

from streams.model.codec import Rejection, decode_record
from streams.model.events import Purchase
from streams.runtime.wire_format import FramedInput
from tests.support.wire_records import FORMATS, framed, framed_with_id

TOPIC = "shop.purchases"
PURCHASE = {
    "event_id": "e-1",
    "customer_id": "c-1",
    "occurred_at": datetime(2024, 3, 1, 12, 30, tzinfo=timezone.utc),
    "order_id": "o-1",
    "amount": 0.0,  # a proto3 default: still a field the codec must see
    "currency": "EUR",
    "categories": ["shoes"],
}


@pytest.fixture
def registry() -> AsyncMockSchemaRegistryClient:
    return AsyncMockSchemaRegistryClient({"url": "mock://"})


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_framed_record_decodes_to_the_event_its_json_twin_is(fmt: str, registry):
    raw = await framed(fmt, registry, TOPIC, PURCHASE)
    plain = await FramedInput(fmt, lambda: registry).as_json(raw)
    assert not isinstance(plain, Rejection), plain
    event = decode_record(plain, "purchase")
    assert event == Purchase(**PURCHASE)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_schema_id_the_registry_lacks_is_an_unknown_schema(fmt: str, registry):
    rejection = await FramedInput(fmt, lambda: registry).as_json(framed_with_id(4242, b"\x00{}"))
    assert rejection == Rejection("unknown_schema", "the schema registry has no schema with id 4242")


@pytest.mark.parametrize("raw", [b'{"event_id": "plain json"}', b"\x00\x00\x01", b"", b"\x07\x00\x00\x00\x01{}"])
async def test_bytes_that_are_not_framed_are_rejected_without_asking_the_registry(raw: bytes):
    def no_registry():
        raise AssertionError("the registry was asked")

    rejection = await FramedInput("avro", no_registry).as_json(raw)
    assert isinstance(rejection, Rejection) and rejection.reason == "bad_framing"


async def test_a_record_of_another_format_than_its_topics_is_rejected_naming_both(registry):
    raw = await framed("avro", registry, TOPIC, PURCHASE)
    rejection = await FramedInput("protobuf", lambda: registry).as_json(raw)
    assert isinstance(rejection, Rejection) and rejection.reason == "unknown_schema"
    assert "is AVRO, not PROTOBUF" in rejection.detail


async def test_a_payload_its_schema_cannot_read_is_rejected(registry):
    raw = await framed("avro", registry, TOPIC, PURCHASE)
    rejection = await FramedInput("avro", lambda: registry).as_json(raw[:9])
    assert isinstance(rejection, Rejection) and rejection.reason == "bad_framing"


async def test_each_schema_is_fetched_once(registry):
    raw = await framed("avro", registry, TOPIC, PURCHASE)
    fetched = []
    real_get = registry.get_schema

    async def counting_get(schema_id, *args, **kwargs):
        fetched.append(schema_id)
        return await real_get(schema_id, *args, **kwargs)

    registry.get_schema = counting_get
    reader = FramedInput("avro", lambda: registry)
    for _ in range(3):
        assert not isinstance(await reader.as_json(raw), Rejection)
    assert len(fetched) == 1
