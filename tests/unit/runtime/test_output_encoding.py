"""Output records' bytes and headers: plain JSON with its content type and schema, or the same
JSON behind the Confluent wire format's five bytes, with the registry's schema id."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import get_args

import msgspec

from streams.model.records import Record, Trigger
from streams.runtime.output_encoding import RECORD_SCHEMAS, STAGE, OutputEncoding, content_type
from streams.model import schemas

SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "schemas"
AT = datetime(2024, 5, 1, tzinfo=timezone.utc)
TRIGGER = Trigger(
    trigger_id="t-1", customer_id="c-1", stage="winback", campaign="winback", episode=0,
    fired_at=AT, last_activity_at=AT, days_inactive=40,
)


def test_a_plain_record_is_its_json_with_a_content_type_and_schema_header():
    value, headers = OutputEncoding().encode(TRIGGER, "winback.triggers")
    assert value == msgspec.json.encode(TRIGGER)
    assert dict(headers) == {
        "content-type": b"application/vnd.winback.trigger.v1+json",
        "winback.schema": b"https://winback-streams.dev/schemas/trigger.v1.json",
    }


def test_a_registered_record_is_framed_with_its_topics_schema_id():
    encoding = OutputEncoding({("winback.triggers", "trigger"): 258, ("audit", "trigger"): 7})
    value, headers = encoding.encode(TRIGGER, "winback.triggers")
    assert value[:5] == b"\x00\x00\x00\x01\x02" and json.loads(value[5:]) == json.loads(msgspec.json.encode(TRIGGER))
    assert dict(headers) == {
        "content-type": b"application/vnd.winback.trigger.v1+json; framing=confluent",
        "winback.schema": b"https://winback-streams.dev/schemas/trigger.v1.json",
        "winback.schema-id": b"258",
    }
    assert encoding.encode(TRIGGER, "audit")[0][:5] == b"\x00\x00\x00\x00\x07"


def test_every_output_record_kind_has_a_published_schema():
    assert set(get_args(Record)) == set(RECORD_SCHEMAS)  # a record added to the engine needs its headers here
    published = {path.name for path in SCHEMAS_DIR.iterdir()}
    for kind in RECORD_SCHEMAS.values():
        assert schemas.file_name(kind) in published
        assert content_type(kind) == f"application/vnd.winback.{kind}.v1+json"



def test_a_customer_stage_record_is_labelled_and_framed_like_every_output():
    stage = b'{"customer_id":"c-1","stage":"winback"}'
    value, headers = OutputEncoding().frame(STAGE, "winback.customer-stage", stage)
    assert value == stage
    assert dict(headers)["content-type"] == b"application/vnd.winback.customer-stage.v1+json"
    assert dict(headers)["winback.schema"] == schemas.schema_id("customer-stage").encode()
    framed, headers = OutputEncoding({("winback.customer-stage", STAGE): 9}).frame(STAGE, "winback.customer-stage", stage)
    assert framed == b"\x00\x00\x00\x00\x09" + stage and dict(headers)["winback.schema-id"] == b"9"
