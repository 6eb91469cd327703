"""Creating and verifying the topics the app needs (``winback topics ensure``).

Idempotent: a topic that exists with the right shape is left alone.  A topic whose partition
count differs from the table's is refused rather than "fixed": the activity table's changelog
must have exactly as many partitions as the topic that feeds it, or customers would be
looked up in the wrong partition after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.settings import Settings
from streams.topology import ACTIVITY_TABLE


@dataclass(frozen=True)
class TopicSpec:
    """What one topic must look like."""

    name: str
    partitions: int
    co_partitioned: bool  # must have exactly `partitions` partitions (table/changelog/internal)
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicStatus:
    """What ``ensure`` found or did for one topic."""

    spec: TopicSpec
    action: str  # "created", "ok" or "mismatch"
    detail: str = ""


def required_topics(settings: Settings) -> list[TopicSpec]:
    """Every topic a worker reads or writes, with its shape."""
    inputs = [TopicSpec(name, settings.partitions, co_partitioned=False) for name in settings.input_topics.values()]
    retention = {"retention.ms": str(int(settings.command_retention_hours * 3600 * 1000))}
    outputs = [
        TopicSpec(name, settings.partitions, co_partitioned=False, config=dict(retention))
        for name in settings.command_topics.values()
    ]
    return [
        *inputs,
        *outputs,
        TopicSpec(settings.topic_dead_letters, settings.partitions, co_partitioned=False),
        TopicSpec(settings.topic_triggers, settings.partitions, co_partitioned=False),
        TopicSpec(settings.topic_events, settings.partitions, co_partitioned=True),
        TopicSpec(settings.topic_due, settings.partitions, co_partitioned=True),
        TopicSpec(
            f"{settings.app_id}-{ACTIVITY_TABLE}-changelog",
            settings.partitions,
            co_partitioned=True,
            config={"cleanup.policy": "compact"},
        ),
    ]


async def ensure_topics(settings: Settings) -> list[TopicStatus]:
    """Create missing topics; report existing ones and refuse partition mismatches."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, client_id=f"{settings.app_id}-admin")
    await admin.start()
    try:
        existing = await _partition_counts(admin)
        specs = required_topics(settings)
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(spec.name, spec.partitions, settings.replication, topic_configs=spec.config) for spec in missing]
            )
        return [_status(spec, existing.get(spec.name)) for spec in specs]
    finally:
        await admin.close()


async def _partition_counts(admin: AIOKafkaAdminClient) -> dict[str, int]:
    topics = await admin.describe_topics()
    return {topic["topic"]: len(topic["partitions"]) for topic in topics if topic["error_code"] == 0}


def _status(spec: TopicSpec, partitions: int | None) -> TopicStatus:
    if partitions is None:
        return TopicStatus(spec, "created", f"{spec.partitions} partitions")
    if spec.co_partitioned and partitions != spec.partitions:
        return TopicStatus(
            spec,
            "mismatch",
            f"has {partitions} partitions but the activity table needs {spec.partitions}: "
            "set WINBACK_PARTITIONS to match, or recreate the topic",
        )
    return TopicStatus(spec, "ok", f"{partitions} partitions")
