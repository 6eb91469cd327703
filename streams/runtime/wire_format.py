"""Input records in the Confluent wire format, turned into the JSON the codec validates.

A shop whose topics carry Avro, Protobuf or JSON Schema records framed for a schema registry
(magic byte 0, the schema's 4-byte id, then the payload; Protobuf adds the message's indexes)
can feed the worker as they are: each record is decoded with its writer's schema, fetched from
the registry once per id, into a plain dict, which is then encoded as JSON and goes through
``streams.model.codec`` like any plain JSON record.  So the same fields, types and limits hold
whatever the encoding, and a bad record is dead-lettered with the same reasons.

Why decode to a dict instead of validating the shop's schema: the shop's schema says what the
shop writes, the codec says what the engine can use; only the latter decides.  Avro logical
timestamps arrive as datetimes and Protobuf ``Timestamp`` fields as RFC 3339 text, which the
codec reads as ``occurred_at``.  Schemas that reference other registered schemas are not
resolved (the record is dead-lettered, reason ``unknown_schema``, saying so).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import logging
from collections.abc import Callable
from typing import Any

import msgspec

from streams.model.codec import Rejection
from streams.runtime.schema_registry import RegistryUnavailable, UnknownSchema, fetch_schema

log = logging.getLogger(__name__)

FETCH_ATTEMPTS = 5
FIRST_RETRY_SECONDS = 0.5  # doubled after each failed attempt: 0.5 + 1 + 2 + 4 s in all
REGISTRY_TYPES = {"avro": "AVRO", "protobuf": "PROTOBUF", "jsonschema": "JSON"}


class FramedInput:
    """Reads one input topic's records of one format (``avro``, ``protobuf`` or ``jsonschema``).

    ``client`` is called for the registry client the first time one is needed, inside the
    worker's event loop, which the client's HTTP connections belong to.  Raises
    ``RegistryUnavailable`` (never a rejection) when the registry cannot be asked.
    """

    def __init__(self, input_format: str, client: Callable[[], Any], fetch_attempts: int = FETCH_ATTEMPTS):
        self.registry_type = REGISTRY_TYPES[input_format]
        self.fetch_attempts = fetch_attempts
        self._client_factory = client
        self._client: Any = None
        self._readers: dict[int, Callable[[bytes, list[int]], Any]] = {}  # schema id -> payload -> value

    async def as_json(self, raw: bytes) -> bytes | Rejection:
        """The record's value as plain JSON bytes for the codec, or why it cannot be read."""
        from confluent_kafka.schema_registry.common.serde import SchemaId

        frame = SchemaId(self.registry_type)
        try:
            payload = frame.from_bytes(io.BytesIO(raw)).read()
        except Exception as error:  # bad magic byte, cut short, bad message indexes
            return Rejection("bad_framing", f"not a {self.registry_type} record in the Confluent wire format: {error}")
        if frame.id is None:
            return Rejection("bad_framing", "a schema GUID instead of an id (magic byte 1) is not supported")
        try:
            read = await self._reader(frame.id)
            value = read(payload, frame.message_indexes or [0])
        except UnknownSchema as unknown:
            return Rejection("unknown_schema", str(unknown))
        except RegistryUnavailable:
            raise  # no fault of the record's (it is no rejection)
        except Exception as error:  # the payload does not match its writer's schema
            return Rejection("bad_framing", f"payload does not match {self.registry_type} schema {frame.id}: {error}")
        return value if isinstance(value, bytes) else _JSON.encode(value)

    async def _reader(self, schema_id: int) -> Callable[[bytes, list[int]], Any]:
        """How to read payloads written with schema ``schema_id`` (built once per id)."""
        if schema_id not in self._readers:
            if self._client is None:
                self._client = self._client_factory()
            fmt = "serialized" if self.registry_type == "PROTOBUF" else None
            schema = await _fetch_retrying(self._client, schema_id, fmt, self.fetch_attempts)
            if (schema.schema_type or "AVRO") != self.registry_type:
                raise UnknownSchema(f"schema {schema_id} is {schema.schema_type or 'AVRO'}, not {self.registry_type}")
            if schema.references:
                raise UnknownSchema(f"schema {schema_id} references other schemas, which are not resolved")
            self._readers[schema_id] = _READER_BUILDERS[self.registry_type](schema.schema_str)
        return self._readers[schema_id]


async def _fetch_retrying(client: Any, schema_id: int, fmt: str | None, attempts: int) -> Any:
    """``fetch_schema``, asked again after a pause that doubles each time while the registry
    cannot answer; ``RegistryUnavailable`` after ``attempts`` attempts."""
    pause = FIRST_RETRY_SECONDS
    for attempt in range(1, attempts):
        try:
            return await fetch_schema(client, schema_id, fmt)
        except RegistryUnavailable as error:
            log.warning("%s (attempt %d of %d); retrying in %.1fs", error, attempt, attempts, pause)
            await asyncio.sleep(pause)
            pause *= 2
    return await fetch_schema(client, schema_id, fmt)


def _avro_reader(schema_text: str) -> Callable[[bytes, list[int]], Any]:
    import fastavro

    parsed = fastavro.parse_schema(json.loads(schema_text))
    return lambda payload, _: fastavro.schemaless_reader(io.BytesIO(payload), parsed, None)


def _json_reader(_: str) -> Callable[[bytes, list[int]], Any]:
    """The payload is already the JSON the codec reads (it validates it against its own schema)."""
    return lambda payload, _: payload


def _protobuf_reader(schema_text: str) -> Callable[[bytes, list[int]], Any]:
    """Messages of the file descriptor the registry gave (``format=serialized``: base64), by index."""
    from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
    from google.protobuf import timestamp_pb2, duration_pb2, wrappers_pb2, struct_pb2, any_pb2, empty_pb2

    try:
        file_proto = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(schema_text, validate=True))
    except (binascii.Error, ValueError) as error:
        raise UnknownSchema(f"the registry gave no serialized file descriptor (format=serialized): {error}") from None
    pool = descriptor_pool.DescriptorPool()
    for known in (timestamp_pb2, duration_pb2, wrappers_pb2, struct_pb2, any_pb2, empty_pb2):
        pool.AddSerializedFile(known.DESCRIPTOR.serialized_pb)
    file_proto.name = file_proto.name or "registered.proto"
    pool.Add(file_proto)
    file_descriptor = pool.FindFileByName(file_proto.name)

    def read(payload: bytes, indexes: list[int]) -> Any:
        descriptor = file_descriptor.message_types_by_name[file_proto.message_type[indexes[0]].name]
        for index in indexes[1:]:
            descriptor = descriptor.nested_types[index]
        message = message_factory.GetMessageClass(descriptor).FromString(payload)
        # fields without presence print their default too: a proto3 amount of 0 is an amount
        return json_format.MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)

    return read


_READER_BUILDERS: dict[str, Callable[[str], Callable[[bytes, list[int]], Any]]] = {
    "AVRO": _avro_reader,
    "PROTOBUF": _protobuf_reader,
    "JSON": _json_reader,
}
_JSON = msgspec.json.Encoder()
