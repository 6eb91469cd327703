"""Creating and verifying the topics the app needs (``winback topics ensure``), and checking
them before a worker starts (``check_topics``: the worker creates no topic itself).

Idempotent: a topic that exists with the right shape is left alone, and nothing that exists
is ever altered - a running cluster's topics are the operator's to change.  ``ensure`` only
tells what is wrong, at two levels:

- ``mismatch`` (refused): the app would compute wrong results with the topic as it is.  A
  co-partitioned topic (the internal events and due topics, the activity changelog) must
  have exactly ``WINBACK_PARTITIONS`` partitions, or customers would be looked up in the
  wrong table partition after a restart; a compacted topic (the changelog, the profiles, the customer stages)
  that is not compacted silently loses every customer older than its retention; a
  ``min.insync.replicas`` above the topic's replica count makes every write fail.
- ``differs``: usable, but not what ``ensure`` would create - another retention of a command
  topic (senders must consume within it), fewer replicas than ``WINBACK_REPLICATION``,
  another ``min.insync.replicas`` than ``WINBACK_MIN_INSYNC_REPLICAS``.

Every request waits at most ``WINBACK_BROKER_TIMEOUT`` seconds for the broker's answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaTimeoutError, TopicAlreadyExistsError, TopicAuthorizationFailedError, for_code

from streams.runtime.connection import client_options
from streams.runtime.settings import Settings, changelog_topic_of

Action = Literal["created", "ok", "differs", "mismatch", "missing"]
CLEANUP_POLICY = "cleanup.policy"
RETENTION_MS = "retention.ms"
MIN_INSYNC_REPLICAS = "min.insync.replicas"
SETTING_OF = {  # the setting behind each config a topic may merely differ in (a wrong cleanup.policy is refused)
    RETENTION_MS: "WINBACK_COMMAND_RETENTION_HOURS",
    MIN_INSYNC_REPLICAS: "WINBACK_MIN_INSYNC_REPLICAS",
}
VISIBLE_ATTEMPTS = 40
VISIBLE_PAUSE_SECONDS = 0.25


@dataclass(frozen=True)
class TopicSpec:
    """What one topic must look like."""

    name: str
    partitions: int
    co_partitioned: bool = False  # must have exactly `partitions` partitions (table, changelog, internal)
    compacted: bool = False  # keeps the latest record per key forever (table state, profiles)
    retention_ms: int | None = None  # None: the broker's default retention
    min_insync_replicas: int = 1  # replicas that must have a write before it is acknowledged

    @property
    def config(self) -> dict[str, str]:
        """The topic configs ``ensure`` creates the topic with and verifies on an existing one."""
        config = {CLEANUP_POLICY: "compact"} if self.compacted else {}
        if self.retention_ms is not None:
            config[RETENTION_MS] = str(self.retention_ms)
        config[MIN_INSYNC_REPLICAS] = str(self.min_insync_replicas)
        return config


@dataclass(frozen=True)
class ExistingTopic:
    """What the cluster has: partition count, smallest replica count, the configs we care about."""

    partitions: int
    replication: int
    config: dict[str, str]


@dataclass(frozen=True)
class TopicStatus:
    """What ``ensure`` found or did for one topic."""

    spec: TopicSpec
    action: Action
    detail: str = ""


def required_topics(settings: Settings) -> list[TopicSpec]:
    """Every topic a worker reads or writes, with its shape."""
    inputs = [name for kind, name in settings.input_topics.items() if kind != "profile"]
    plain = [
        *([] if settings.input_keyed else inputs),
        settings.topic_dead_letters,
        settings.topic_triggers,
        settings.topic_outcomes,
        settings.topic_skips,
    ]
    retention_ms = round(settings.command_retention_hours * 3600 * 1000)
    spec = partial(TopicSpec, partitions=settings.partitions, min_insync_replicas=settings.required_in_sync_replicas)
    return [
        *(spec(name, co_partitioned=True) for name in (inputs if settings.input_keyed else [])),
        *(spec(name) for name in plain),
        spec(settings.topic_profiles, co_partitioned=settings.input_keyed, compacted=True),
        spec(settings.topic_customer_stage, compacted=True),
        *(spec(name, retention_ms=retention_ms) for name in settings.command_topics.values()),
        spec(settings.topic_events, co_partitioned=True),
        spec(settings.topic_due, co_partitioned=True),
        spec(changelog_topic(settings), co_partitioned=True, compacted=True),
    ]


def changelog_topic(settings: Settings) -> str:
    """The activity table's changelog, named the way Faust names it."""
    return changelog_topic_of(settings.app_id)


async def ensure_topics(settings: Settings) -> list[TopicStatus]:
    """Create missing topics and verify existing ones; one status per required topic, in order.

    Raises a ``KafkaError`` when a topic cannot be created (e.g. a replication factor larger
    than the cluster), naming the topic and the broker's reason.
    """
    specs = required_topics(settings)
    async with admin_client(settings) as admin:
        existing = await _describe(admin, specs)
        missing = [spec for spec in specs if spec.name not in existing]
        created = await _create(admin, missing, settings.replication)
        existing |= await _describe_when_visible(admin, [spec for spec in missing if spec.name not in created])
    return [
        TopicStatus(spec, "created", _shape(spec.partitions, settings.replication))
        if spec.name in created
        else verify(spec, existing[spec.name], settings.replication)
        for spec in specs
    ]


async def check_topics(settings: Settings) -> list[TopicStatus]:
    """Verify every required topic without creating or changing any: what a worker checks
    before it starts.  A topic that does not exist is ``missing``."""
    specs = required_topics(settings)
    async with admin_client(settings) as admin:
        existing = await _describe(admin, specs)
    return [
        verify(spec, existing[spec.name], settings.replication)
        if spec.name in existing
        else TopicStatus(spec, "missing", "does not exist")
        for spec in specs
    ]


def verify(spec: TopicSpec, topic: ExistingTopic, replication: int) -> TopicStatus:
    """Compare an existing topic with its spec: ``mismatch`` beats ``differs`` beats ``ok``."""
    shape = _shape(topic.partitions, topic.replication)
    if spec.co_partitioned and topic.partitions != spec.partitions:
        return TopicStatus(
            spec,
            "mismatch",
            f"has {topic.partitions} partitions but the activity table needs {spec.partitions}: "
            "set WINBACK_PARTITIONS to match, or recreate the topic",
        )
    if spec.compacted and topic.config.get(CLEANUP_POLICY) != "compact":
        return TopicStatus(
            spec,
            "mismatch",
            f"is not compacted ({CLEANUP_POLICY}={topic.config.get(CLEANUP_POLICY)}): records older than its "
            f"retention would be lost; set {CLEANUP_POLICY}=compact on the topic",
        )
    if int(topic.config.get(MIN_INSYNC_REPLICAS, "1")) > topic.replication:
        return TopicStatus(
            spec,
            "mismatch",
            f"has {MIN_INSYNC_REPLICAS}={topic.config[MIN_INSYNC_REPLICAS]} but only {topic.replication} "
            f"replicas: no write could be acknowledged; set {MIN_INSYNC_REPLICAS} to at most {topic.replication}",
        )
    differences = [
        f"{key}={topic.config.get(key)} (expected {value}, {SETTING_OF[key]})"
        for key, value in spec.config.items()
        if topic.config.get(key) != value
    ]
    if topic.replication < replication:
        differences.append(f"replication {topic.replication} (expected {replication}, WINBACK_REPLICATION)")
    if differences:
        return TopicStatus(spec, "differs", f"{shape}; " + "; ".join(differences))
    return TopicStatus(spec, "ok", shape)


def _shape(partitions: int, replication: int) -> str:
    return f"{partitions} partitions, replication {replication}"


@asynccontextmanager
async def admin_client(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client of the cluster, connected as every client is (``client_options``), closed after the block."""
    admin = AIOKafkaAdminClient(
        **client_options(settings),
        client_id=f"{settings.app_id}-admin",
        request_timeout_ms=round(settings.broker_timeout * 1000),
    )
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def _describe(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> dict[str, ExistingTopic]:
    """The specs' topics that exist, with their shape and the configs the specs set.

    Asks for the metadata of *all* topics: a metadata request naming a missing topic would
    make a broker with ``auto.create.topics.enable`` create it, with the broker's defaults.
    """
    if not specs:
        return {}
    wanted = {spec.name for spec in specs}
    found = {topic["topic"]: topic["partitions"] for topic in await admin.describe_topics() if topic["error_code"] == 0}
    names = sorted(wanted & found.keys())
    configs = await _configs(admin, names, {key for spec in specs for key in spec.config})
    return {
        name: ExistingTopic(
            partitions=len(found[name]),
            replication=min(len(partition["replicas"]) for partition in found[name]),
            config=configs.get(name, {}),
        )
        for name in names
    }


async def _describe_when_visible(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> dict[str, ExistingTopic]:
    """Describe topics the broker says exist though the first look missed them.

    Another client (a second ``ensure``, a worker) may just have created them, and a broker's
    metadata shows a new topic a moment after its creation was acknowledged.
    """
    for _attempt in range(VISIBLE_ATTEMPTS):
        existing = await _describe(admin, specs)
        if len(existing) == len(specs):
            return existing
        await asyncio.sleep(VISIBLE_PAUSE_SECONDS)
    hidden = sorted({spec.name for spec in specs} - existing.keys())
    raise KafkaTimeoutError(f"topics the broker says exist do not appear in its metadata: {', '.join(hidden)}")


async def _configs(admin: AIOKafkaAdminClient, names: list[str], keys: set[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    query = dict.fromkeys(keys)
    resources = [ConfigResource(ConfigResourceType.TOPIC, name, query) for name in names]
    responses = await admin.describe_configs(resources)
    described = [resource for response in responses for resource in response.to_object()["resources"]]
    for resource in described:
        if resource["error_code"] == TopicAuthorizationFailedError.errno:  # else checks would misjudge the topic
            raise TopicAuthorizationFailedError(f"cannot read the configs of topic {resource['resource_name']}")
    return {
        resource["resource_name"]: {entry["config_names"]: entry["config_value"] for entry in resource["config_entries"]}
        for resource in described
        if resource["error_code"] == 0
    }


async def _create(admin: AIOKafkaAdminClient, specs: list[TopicSpec], replication: int) -> set[str]:
    """Create the topics; the names of those this call created (not those that appeared meanwhile)."""
    if not specs:
        return set()
    response = await admin.create_topics(
        [NewTopic(spec.name, spec.partitions, replication, topic_configs=spec.config) for spec in specs]
    )
    created: set[str] = set()
    for result in response.to_object()["topic_errors"]:
        error = for_code(result["error_code"])
        if result["error_code"] == 0:
            created.add(result["topic"])
        elif error is not TopicAlreadyExistsError:
            raise error(f"cannot create topic {result['topic']}: {result['error_message']}")
    return created
