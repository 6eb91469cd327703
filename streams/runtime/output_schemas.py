"""Registering the output records' JSON Schemas before a worker starts
(WINBACK_OUTPUT_FORMAT=jsonschema), so senders can look the command schema up in their registry.

Each (topic, record kind) gets a subject (WINBACK_SCHEMA_SUBJECT_STRATEGY):

- ``topic_record`` (default): ``<topic>-winback.<kind>``, Confluent's TopicRecordNameStrategy;
- ``record``: ``winback.<kind>``, RecordNameStrategy (one subject per kind, whatever the topic).

Confluent's plain topic strategy (``<topic>-value``) cannot serve here: the outcomes topic
carries four kinds of record (outcome, engagement, erased, retraction), and the second would be refused
as incompatible with the first.

Before registering, the schema is checked against the subject's latest version with the
registry's own compatibility rule: a worker whose records the registry calls incompatible
does not start (one line naming the subject), rather than publish what consumers cannot read.
"""

from __future__ import annotations

from typing import Any

from streams.model import schemas
from streams.runtime.output_encoding import STAGE
from streams.runtime.schema_registry import SCHEMA_NOT_FOUND, registry_client
from streams.runtime.settings import Settings

NAMESPACE = "winback"


class OutputSchemaError(Exception):
    """The output schemas could not be registered; the message is one line."""


def outputs(settings: Settings) -> list[tuple[str, str]]:
    """(topic, record kind) of every output record the worker publishes."""
    pairs = [(settings.topic_triggers, "trigger")]
    pairs += [(topic, "message-command") for topic in settings.command_topics.values()]
    pairs += [(settings.topic_skips, "skip")]
    pairs += [(settings.topic_outcomes, kind) for kind in ("outcome", "engagement", "erased", "retraction")]
    pairs += [(settings.topic_customer_stage, STAGE)]
    return pairs


def subject(strategy: str, topic: str, kind: str) -> str:
    """The registry subject of ``kind``'s schema on ``topic`` under ``strategy``."""
    record_name = f"{NAMESPACE}.{kind}"
    return record_name if strategy == "record" else f"{topic}-{record_name}"


async def register_outputs(settings: Settings) -> dict[tuple[str, str], int]:
    """Check and register every output schema; (topic, kind) -> its schema id.

    Raises ``OutputSchemaError`` when the registry calls one incompatible, refuses it, or
    cannot be reached.
    """
    from confluent_kafka.schema_registry import Schema

    client = registry_client(settings)
    ids: dict[tuple[str, str], int] = {}
    for topic, kind in outputs(settings):
        name = subject(settings.schema_subject_strategy, topic, kind)
        schema = Schema(schemas.render(kind).decode(), "JSON")
        try:
            if await _has_versions(client, name) and not await client.test_compatibility(name, schema):
                raise OutputSchemaError(
                    f"the schema registry says schemas/{schemas.file_name(kind)} is incompatible with the latest "
                    f"version of subject {name!r}: check the subject's compatibility level or its versions"
                )
            ids[topic, kind] = await client.register_schema(name, schema)
        except OutputSchemaError:
            raise
        except Exception as error:
            raise OutputSchemaError(
                f"cannot register schemas/{schemas.file_name(kind)} as subject {name!r} at "
                f"WINBACK_SCHEMA_REGISTRY_URL: {error}"
            ) from None
    return ids


async def _has_versions(client: Any, name: str) -> bool:
    """Whether ``name`` has a version yet (a new subject has nothing to be compatible with)."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    try:
        await client.get_latest_version(name)
    except SchemaRegistryError as error:
        if error.http_status_code == SCHEMA_NOT_FOUND:
            return False
        raise
    return True
