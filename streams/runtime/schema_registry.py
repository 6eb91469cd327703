"""Talking to a schema registry that speaks the Confluent REST API (Confluent, Apicurio's
``/apis/ccompat/v7``, Karapace): the client built from the ``WINBACK_SCHEMA_REGISTRY_*``
settings, and what its failures mean for a record.

The client is confluent-kafka's ``AsyncSchemaRegistryClient`` (HTTP only, no librdkafka
involved): it caches every schema it fetched by id, so a worker asks the registry once per
schema id, not once per record.  Its errors fall in two kinds that the worker treats
oppositely: the registry *answered* that a schema id is unknown (the record can never be read:
dead-letter it, reason ``unknown_schema``), or the registry could not be asked (down, refusing
our credentials, an error on its side: the record is fine, so it must not be dead-lettered;
the worker stops without committing and reads it again after a restart, docs/guarantees.md).
"""

from __future__ import annotations

from typing import Any

from streams.runtime.settings import Settings

SCHEMA_NOT_FOUND = 404
MAX_CACHED_SCHEMAS = 10_000  # schema ids a worker remembers (a topic sees a handful)


class RegistryUnavailable(Exception):
    """The registry could not say what a schema id is (unreachable, refused us, failed): the
    record that needed it is not at fault."""


class UnknownSchema(Exception):
    """The registry answered that it holds no schema of this id."""


def registry_client(settings: Settings) -> Any:
    """An ``AsyncSchemaRegistryClient`` for WINBACK_SCHEMA_REGISTRY_URL (bind it to the loop
    that uses it: create it inside that loop)."""
    from confluent_kafka.schema_registry import AsyncSchemaRegistryClient

    return AsyncSchemaRegistryClient(client_config(settings))


def client_config(settings: Settings) -> dict[str, Any]:
    """The registry client's configuration: URL, basic auth, CA, bounded waits and retries."""
    config: dict[str, Any] = {
        "url": settings.schema_registry_url,
        "timeout": settings.broker_timeout,
        "cache.capacity": MAX_CACHED_SCHEMAS,
        "max.retries": 2,
    }
    if settings.schema_registry_username is not None and settings.schema_registry_password is not None:
        password = settings.schema_registry_password.get_secret_value()
        config["basic.auth.user.info"] = f"{settings.schema_registry_username}:{password}"
    if settings.schema_registry_ca_file is not None:
        config["ssl.ca.location"] = str(settings.schema_registry_ca_file)
    return config


async def fetch_schema(client: Any, schema_id: int, fmt: str | None = None) -> Any:
    """The registry's schema of ``schema_id`` (a ``Schema``), cached by the client.

    Raises ``UnknownSchema`` when the registry says there is none, ``RegistryUnavailable`` for
    any other failure to get an answer.
    """
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    try:
        return await client.get_schema(schema_id, fmt=fmt)
    except SchemaRegistryError as error:
        if error.http_status_code == SCHEMA_NOT_FOUND:
            raise UnknownSchema(f"the schema registry has no schema with id {schema_id}") from None
        raise RegistryUnavailable(f"the schema registry failed to give schema {schema_id}: {error}") from None
    except Exception as error:  # the HTTP client's errors: connection refused, timeout, TLS...
        raise RegistryUnavailable(f"cannot reach the schema registry for schema {schema_id}: {error!r}") from None
