"""A worker on a real schema registry (Apicurio, local): Avro, Protobuf and JSON Schema inputs in
the Confluent wire format are applied like plain JSON, a record whose schema id the registry does
not know is dead-lettered with that reason and its own headers, and the outputs are framed with
JSON Schemas the worker registered, readable with the registry's own deserializer.

One worker serves every assertion (the suite's time budget)."""

from __future__ import annotations

from datetime import timezone

import msgspec
import pytest
from aiokafka import AIOKafkaProducer
from confluent_kafka.schema_registry import AsyncSchemaRegistryClient, Schema
from confluent_kafka.schema_registry.json_schema import AsyncJSONDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streams.model.records import trigger_id
from streams.runtime import dead_letters
from streams.runtime.output_schemas import OutputSchemaError, outputs, register_outputs
from streams.runtime.settings import Settings
from tests.support.kafka_io import read_until
from tests.support.scenarios import CLOCK, days_ago
from tests.support.wire_records import framed, framed_with_id

pytestmark = pytest.mark.integration

FORMATS = "purchase=avro,login=protobuf,email=jsonschema"


async def test_framed_inputs_are_applied_and_outputs_registered(app_settings: Settings, worker_factory, schema_registry: str):
    settings = app_settings
    client = AsyncSchemaRegistryClient({"url": schema_registry})
    worker_factory(
        WINBACK_CLOCK=CLOCK, WINBACK_TICK_SECONDS="0.2", WINBACK_SCHEMA_REGISTRY_URL=schema_registry,
        WINBACK_INPUT_FORMAT=FORMATS, WINBACK_OUTPUT_FORMAT="jsonschema",
    )
    at = days_ago(40).astimezone(timezone.utc)
    records = [
        (settings.topic_purchases, await framed("avro", client, settings.topic_purchases, {
            "event_id": "p-1", "customer_id": "bought-40", "occurred_at": at, "order_id": "o-1", "amount": 40.0,
            "currency": "EUR", "categories": ["shoes"]})),
        (settings.topic_logins, await framed("protobuf", client, settings.topic_logins, {
            "event_id": "l-1", "customer_id": "logged-in-40", "occurred_at": at}, kind="login")),
        (settings.topic_email, await framed("jsonschema", client, settings.topic_email, {
            "event_id": "e-1", "customer_id": "bought-40", "occurred_at": at, "action": "open"}, kind="email")),
        (settings.topic_purchases, framed_with_id(987654, b"\x02\x00")),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=settings.broker)
    await producer.start()
    try:
        for topic, value in records:
            await producer.send_and_wait(topic, value, key=b"k", headers=[("traceparent", b"00-abc-01")])
    finally:
        await producer.stop()

    forwarded = await read_until(settings.broker, [settings.topic_events], lambda found: len(found) >= 3)
    assert {msgspec.json.decode(record.value)["event_id"] for record in forwarded} == {"p-1", "l-1", "e-1"}

    [letter] = await read_until(settings.broker, [settings.topic_dead_letters], lambda found: len(found) >= 1)
    assert dead_letters.read_headers(letter.headers)["reason"] == "unknown_schema"
    assert ("traceparent", b"00-abc-01") in letter.headers and letter.value == records[-1][1]

    wanted = {trigger_id("bought-40", "reactivation", 0), trigger_id("logged-in-40", "reactivation", 0)}
    deserializer = await AsyncJSONDeserializer(None, schema_registry_client=client)
    triggers = await read_until(settings.broker, [settings.topic_triggers], lambda found: len(found) >= 2)
    context = SerializationContext(settings.topic_triggers, MessageField.VALUE)
    assert {(await deserializer(record.value, context))["trigger_id"] for record in triggers} == wanted
    headers = dict(triggers[0].headers)
    assert headers["content-type"] == b"application/vnd.winback.trigger.v1+json; framing=confluent"
    assert headers["winback.schema"] == b"https://winback-streams.dev/schemas/trigger.v1.json"
    registered = await client.get_latest_version(f"{settings.topic_triggers}-winback.trigger")
    assert headers["winback.schema-id"] == str(registered.schema_id).encode()
    commands = await read_until(settings.broker, [settings.command_topics["email"]], lambda found: len(found) >= 1)
    assert dict(commands[0].headers)["content-type"] == b"application/vnd.winback.message-command.v1+json; framing=confluent"


async def test_output_schemas_the_registry_refuses_stop_the_start_with_one_line(schema_registry: str, tmp_path):
    """A subject with a compatibility rule makes the registry check the new schema before taking
    it.  Apicurio 2.4.2 checks JSON Schemas with a library that knows drafts 4 to 7 only, so for
    the 2020-12 schemas of schemas/ it answers with an error rather than a verdict: either way,
    the worker must not start, and says which subject in one line."""
    settings = Settings(
        output_format="jsonschema", schema_registry_url=schema_registry, topic_triggers=f"audit-{tmp_path.name}",
        data_dir=tmp_path,
    )
    client = AsyncSchemaRegistryClient({"url": schema_registry})
    taken = f"{settings.topic_triggers}-winback.trigger"
    legacy = '{"type": "object", "properties": {"legacy": {"type": "string"}}, "required": ["legacy"]}'
    await client.register_schema(taken, Schema(legacy, "JSON"))
    await client.set_compatibility(taken, "FULL")

    with pytest.raises(OutputSchemaError, match=f"schemas/trigger.v1.json .*subject '{taken}'") as refused:
        await register_outputs(settings)
    assert "\n" not in str(refused.value)
    fresh = settings.model_copy(update={"topic_triggers": f"fresh-{tmp_path.name}"})
    assert set(await register_outputs(fresh)) == set(outputs(fresh))  # an id for every (topic, kind of record)
