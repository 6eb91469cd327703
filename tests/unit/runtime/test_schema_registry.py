"""The registry client's settings, and what a registry that cannot answer means for a record."""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry import AsyncSchemaRegistryClient
from pydantic import SecretStr

from streams.devtools.kafka_local import free_port
from streams.runtime.schema_registry import RegistryUnavailable, client_config, fetch_schema
from streams.runtime.settings import Settings
from streams.runtime.wire_format import FramedInput
from tests.support.wire_records import framed_with_id


def test_credentials_and_ca_go_to_the_client():
    settings = Settings(
        schema_registry_url="https://registry:8081", schema_registry_username="shop",
        schema_registry_password=SecretStr("p:w@d"), schema_registry_ca_file=None, broker_timeout=4,
    )
    config = client_config(settings)
    assert config["url"] == "https://registry:8081" and config["timeout"] == 4
    assert config["basic.auth.user.info"] == "shop:p:w@d"
    assert "ssl.ca.location" not in config


async def test_a_registry_nobody_listens_on_is_unavailable_not_an_unknown_schema():
    client = AsyncSchemaRegistryClient({"url": f"http://127.0.0.1:{free_port()}", "max.retries": 0, "timeout": 2})
    with pytest.raises(RegistryUnavailable, match="cannot reach the schema registry for schema 7"):
        await fetch_schema(client, 7)


@pytest.mark.parametrize("fmt", ["avro", "protobuf", "jsonschema"])
async def test_a_record_whose_schema_cannot_be_fetched_is_not_rejected(fmt: str):
    client = AsyncSchemaRegistryClient({"url": f"http://127.0.0.1:{free_port()}", "max.retries": 0, "timeout": 2})
    reader = FramedInput(fmt, lambda: client, fetch_attempts=2)  # one retry, after 0.5 s
    with pytest.raises(RegistryUnavailable):
        await reader.as_json(framed_with_id(7, b"\x00{}"))
