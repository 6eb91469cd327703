"""Purchases as a shop on a schema registry writes them: Avro, Protobuf and JSON Schema records in
the Confluent wire format, made with confluent-kafka's own serializers (what real producers use).

``framed(fmt, client, topic, purchase)`` registers the shop's schema under ``<topic>-value`` (the
serializers' default) and returns the record's bytes.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

from confluent_kafka.schema_registry.avro import AsyncAvroSerializer
from confluent_kafka.schema_registry.json_schema import AsyncJSONSerializer
from confluent_kafka.schema_registry.protobuf import AsyncProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

from streams.model import schemas

FORMATS = ("avro", "protobuf", "jsonschema")
SCHEMA_STEMS = {"purchase": "purchase", "login": "login", "email": "email-engagement"}

# The shop's purchase in Avro: its time as a logical timestamp, an optional discount code.
AVRO_PURCHASE = {
    "type": "record",
    "name": "Purchase",
    "namespace": "shop.events",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "customer_id", "type": "string"},
        {"name": "occurred_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "order_id", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "currency", "type": "string"},
        {"name": "categories", "type": {"type": "array", "items": "string"}, "default": []},
        {"name": "discount_code", "type": ["null", "string"], "default": None},
    ],
}


# The shop's events in Protobuf: field name -> (field type, label, message type); 9 string,
# 1 double, 11 message; label 1 single, 3 repeated.
PROTOBUF_FIELDS = {
    "Purchase": [
        ("event_id", 9, 1, None),
        ("customer_id", 9, 1, None),
        ("occurred_at", 11, 1, ".google.protobuf.Timestamp"),
        ("order_id", 9, 1, None),
        ("amount", 1, 1, None),
        ("currency", 9, 1, None),
        ("categories", 9, 3, None),
    ],
    "Login": [("event_id", 9, 1, None), ("customer_id", 9, 1, None), ("occurred_at", 11, 1, ".google.protobuf.Timestamp")],
}


@cache
def protobuf_message(name: str = "Purchase") -> Any:
    """The shop's event ``name`` as a Protobuf message class (``shop.events.<name>``, a second
    message first in the file so that the record's message index is not the default 0)."""
    file = descriptor_pb2.FileDescriptorProto(name=f"shop/{name.lower()}.proto", package="shop.events", syntax="proto3")
    file.dependency.append("google/protobuf/timestamp.proto")
    file.message_type.add(name="Unused").field.add(name="note", number=1, type=9, label=1)
    message = file.message_type.add(name=name)
    for number, (field_name, kind, label, type_name) in enumerate(PROTOBUF_FIELDS[name], start=1):
        field = message.field.add(name=field_name, number=number, type=kind, label=label)
        if type_name:
            field.type_name = type_name
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"shop.events.{name}"))


async def framed(fmt: str, client: Any, topic: str, event: dict[str, Any], kind: str = "purchase") -> bytes:
    """``event`` (field -> value, ``occurred_at`` a datetime) of type ``kind`` as the shop's
    producer writes it: Avro for purchases only, Protobuf for purchases and logins, JSON Schema
    (the project's own published schema of ``kind``) for any event."""
    context = SerializationContext(topic, MessageField.VALUE)
    if fmt == "avro":
        serializer = await AsyncAvroSerializer(client, json.dumps(AVRO_PURCHASE))
        return await serializer(event, context)
    if fmt == "protobuf":
        message_class = protobuf_message(kind.capitalize())
        message = message_class(**{name: value for name, value in event.items() if name != "occurred_at"})
        message.occurred_at.FromDatetime(event["occurred_at"])
        serializer = await AsyncProtobufSerializer(message_class, client)
        return await serializer(message, context)
    serializer = await AsyncJSONSerializer(schemas.render(SCHEMA_STEMS[kind]).decode(), client)
    return await serializer({**event, "occurred_at": _rfc3339(event["occurred_at"])}, context)


def framed_with_id(schema_id: int, payload: bytes) -> bytes:
    """``payload`` framed as written with schema ``schema_id`` (which may be one no registry has)."""
    return b"\x00" + schema_id.to_bytes(4, "big") + payload


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")

