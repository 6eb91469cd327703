"""How an output record goes on Kafka: its bytes, and headers saying what they are.

Every output record carries two headers, so a consumer can tell what it holds without
guessing from the topic:

- ``content-type``: ``application/vnd.winback.<kind>.v1+json`` (``<kind>`` is the record's
  schema, ``schemas/<kind>.v1.json``: trigger, message-command, skip, outcome, engagement,
  erased, retraction, and customer-stage on the compacted stage topic); ``; framing=confluent``
  follows when the value is in the Confluent wire format;
- ``winback.schema``: the ``$id`` of that JSON Schema; and with WINBACK_OUTPUT_FORMAT=jsonschema,
  ``winback.schema-id``: the id the registry gave it.

With WINBACK_OUTPUT_FORMAT=jsonschema the value is the same JSON behind the wire format's
five bytes (magic byte 0, the schema id), so any registry-aware consumer reads it with its
JSON Schema deserializer.  The schemas are registered, after a compatibility check, before
the worker starts (``streams.runtime.output_schemas``).
"""

from __future__ import annotations

import msgspec

from streams.model import schemas
from streams.model.records import Engagement, Erased, MessageCommand, Outcome, Record, Retraction, Skip, Trigger

CONTENT_TYPE = "content-type"
SCHEMA = "winback.schema"
SCHEMA_ID = "winback.schema-id"
MAGIC_BYTE = b"\x00"
# The schema (file stem in schemas/) of each kind of output record.
RECORD_SCHEMAS: dict[type, str] = {
    Trigger: "trigger",
    MessageCommand: "message-command",
    Skip: "skip",
    Outcome: "outcome",
    Engagement: "engagement",
    Erased: "erased",
    Retraction: "retraction",
}
STAGE = "customer-stage"  # the schema of the compacted customer-stage topic's values (streams.runtime.stage_topic)
Headers = list[tuple[str, bytes]]


def content_type(kind: str, framed: bool = False) -> str:
    """The ``content-type`` of a record whose schema is ``kind``."""
    return f"application/vnd.winback.{kind}.v{schemas.SCHEMA_VERSION}+json" + ("; framing=confluent" if framed else "")


class OutputEncoding:
    """Encodes output records: plain JSON, or framed with the registry's schema ids.

    ``schema_ids``: (topic, schema kind) -> the id the registry gave that schema for that
    topic's subject; None for plain JSON.  Headers are built once per (topic, kind).
    """

    def __init__(self, schema_ids: dict[tuple[str, str], int] | None = None):
        self.schema_ids = schema_ids
        self._prefixes: dict[tuple[str, str], bytes] = {}
        self._headers: dict[tuple[str, str], Headers] = {}
        for (topic, kind), schema_id in (schema_ids or {}).items():
            self._prefixes[topic, kind] = MAGIC_BYTE + schema_id.to_bytes(4, "big")
            self._headers[topic, kind] = [*_headers(kind, framed=True), (SCHEMA_ID, str(schema_id).encode())]

    def encode(self, record: Record, topic: str) -> tuple[bytes, Headers]:
        """The value and headers of ``record`` on ``topic``."""
        return self.frame(RECORD_SCHEMAS[type(record)], topic, _ENCODER.encode(record))

    def frame(self, kind: str, topic: str, value: bytes) -> tuple[bytes, Headers]:
        """``value``, the JSON of a record whose schema is ``kind``, as it goes on ``topic``, with its headers."""
        if self.schema_ids is None:
            return value, _PLAIN_HEADERS[kind]
        return self._prefixes[topic, kind] + value, self._headers[topic, kind]


def _headers(kind: str, framed: bool) -> Headers:
    return [(CONTENT_TYPE, content_type(kind, framed).encode()), (SCHEMA, schemas.schema_id(kind).encode())]


_ENCODER = msgspec.json.Encoder()
_PLAIN_HEADERS = {kind: _headers(kind, framed=False) for kind in (*RECORD_SCHEMAS.values(), STAGE)}
