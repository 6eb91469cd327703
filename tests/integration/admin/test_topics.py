"""`winback topics ensure` against the real broker: creates, then changes nothing; refuses what would break."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from click.testing import CliRunner, Result

from streams.cli import main
from streams.runtime.settings import Settings
from streams.admin.topics import changelog_topic, required_topics
from streams.devtools.spawn import worker_env
from tests.support.kafka_io import admin_call

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(kafka_bootstrap: str) -> Settings:
    """Settings whose topics and app id no other test uses, none of them created yet."""
    space = f"ensure-{uuid.uuid4().hex[:10]}"
    fields = [field for field in Settings.model_fields if field.startswith("topic_")]
    topics = {field: f"{space}.{field.removeprefix('topic_')}" for field in fields}
    return Settings(broker=kafka_bootstrap, app_id=f"winback-{space}", partitions=4, **topics)


def run_ensure(settings: Settings) -> Result:
    return CliRunner().invoke(main, ["topics", "ensure"], env=worker_env(settings))


def actions(result: Result) -> dict[str, str]:
    """Topic name -> what `ensure` printed it did."""
    return {line.split()[1]: line.split()[0] for line in result.stdout.splitlines()}


def create_topic(settings: Settings, name: str, partitions: int, config: dict[str, str]) -> None:
    topic = NewTopic(name, partitions, 1, topic_configs=config)
    asyncio.run(admin_call(settings, lambda admin: admin.create_topics([topic])))


def topic_config(settings: Settings, name: str, key: str) -> str:
    resource = ConfigResource(ConfigResourceType.TOPIC, name, {key: None})
    responses = asyncio.run(admin_call(settings, lambda admin: admin.describe_configs([resource])))
    [entry] = responses[0].to_object()["resources"][0]["config_entries"]
    return entry["config_value"]


def test_ensure_creates_every_topic_then_a_second_run_changes_nothing(settings: Settings):
    names = [spec.name for spec in required_topics(settings)]

    first = run_ensure(settings)
    assert first.exit_code == 0, first.output
    assert actions(first) == dict.fromkeys(names, "created")

    second = run_ensure(settings)
    assert second.exit_code == 0, second.output
    assert actions(second) == dict.fromkeys(names, "ok")
    assert "4 partitions, replication 1" in second.stdout

    assert topic_config(settings, changelog_topic(settings), "cleanup.policy") == "compact"
    assert topic_config(settings, settings.topic_profiles, "cleanup.policy") == "compact"
    assert topic_config(settings, settings.topic_commands_push, "retention.ms") == str(168 * 3600 * 1000)


@pytest.mark.parametrize(
    ("partitions", "cleanup_policy", "reason"),
    [
        (3, "compact", "has 3 partitions but the activity table needs 4"),
        (4, "delete", "is not compacted (cleanup.policy=delete)"),
    ],
)
def test_a_changelog_that_would_break_the_table_is_refused(
    settings: Settings, partitions: int, cleanup_policy: str, reason: str
):
    create_topic(settings, changelog_topic(settings), partitions, {"cleanup.policy": cleanup_policy})

    result = run_ensure(settings)

    assert result.exit_code == 1, result.output
    assert actions(result)[changelog_topic(settings)] == "mismatch"
    assert "refusing to use these topics as they are" in result.stderr
    assert f"{changelog_topic(settings)} {reason}" in result.stderr
    assert actions(result)[settings.topic_events] == "created"  # the others are still created


def test_a_command_topic_with_another_retention_is_reported_and_accepted(settings: Settings):
    create_topic(settings, settings.topic_commands_email, 4, {"retention.ms": "3600000"})

    result = run_ensure(settings)

    assert result.exit_code == 0, result.output
    assert actions(result)[settings.topic_commands_email] == "differs"
    assert f"retention.ms=3600000 (expected {168 * 3600 * 1000})" in result.stdout


def test_a_replication_the_cluster_cannot_give_is_a_clear_error(settings: Settings):
    result = run_ensure(settings.model_copy(update={"replication": 3}))

    assert result.exit_code == 1, result.output
    assert f"cannot administer topics on {settings.broker} (WINBACK_BROKER)" in result.stderr
    assert "replication factor of 3 cannot be reached" in result.stderr
