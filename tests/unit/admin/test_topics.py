"""The topics a worker needs and how an existing topic is judged (no broker: see tests/integration)."""

import pytest

from streams.runtime.settings import Settings
from streams.admin.topics import ExistingTopic, TopicSpec, changelog_topic, required_topics, verify

SETTINGS = Settings(partitions=6, replication=3, command_retention_hours=48)


def spec_of(name: str) -> TopicSpec:
    return next(spec for spec in required_topics(SETTINGS) if spec.name == name)


def test_every_topic_setting_and_the_changelog_is_required_once():
    names = [spec.name for spec in required_topics(SETTINGS)]
    topic_settings = {getattr(SETTINGS, field) for field in Settings.model_fields if field.startswith("topic_")}
    assert sorted(names) == sorted(topic_settings | {"winback-activity-changelog"})


def test_table_state_and_internal_topics_are_co_partitioned():
    co_partitioned = {spec.name for spec in required_topics(SETTINGS) if spec.co_partitioned}
    assert co_partitioned == {SETTINGS.topic_events, SETTINGS.topic_due, changelog_topic(SETTINGS)}
    assert all(spec.partitions == 6 for spec in required_topics(SETTINGS))


def test_the_changelog_and_the_profiles_are_compacted():
    compacted = {spec.name: spec.config for spec in required_topics(SETTINGS) if spec.compacted}
    assert compacted == {
        SETTINGS.topic_profiles: {"cleanup.policy": "compact"},
        changelog_topic(SETTINGS): {"cleanup.policy": "compact"},
    }


def test_command_topics_keep_records_for_the_command_retention():
    for topic in SETTINGS.command_topics.values():
        assert spec_of(topic).config == {"retention.ms": str(48 * 3600 * 1000)}
    assert spec_of(SETTINGS.topic_dead_letters).config == {}  # the broker's default retention


def test_a_topic_as_ensure_would_create_it_is_ok():
    changelog = spec_of(changelog_topic(SETTINGS))
    status = verify(changelog, ExistingTopic(6, 3, {"cleanup.policy": "compact"}), replication=3)
    assert (status.action, status.detail) == ("ok", "6 partitions, replication 3")


@pytest.mark.parametrize("name", [SETTINGS.topic_events, SETTINGS.topic_due, "winback-activity-changelog"])
def test_a_co_partitioned_topic_with_another_partition_count_is_refused(name: str):
    status = verify(spec_of(name), ExistingTopic(4, 3, {"cleanup.policy": "compact"}), replication=3)
    assert status.action == "mismatch"
    assert "has 4 partitions but the activity table needs 6" in status.detail
    assert "WINBACK_PARTITIONS" in status.detail


def test_an_input_topic_may_have_any_partition_count():
    status = verify(spec_of(SETTINGS.topic_purchases), ExistingTopic(24, 3, {}), replication=3)
    assert (status.action, status.detail) == ("ok", "24 partitions, replication 3")


def test_a_changelog_that_is_not_compacted_is_refused():
    status = verify(spec_of(changelog_topic(SETTINGS)), ExistingTopic(6, 3, {"cleanup.policy": "delete"}), 3)
    assert status.action == "mismatch"
    assert "not compacted (cleanup.policy=delete)" in status.detail


def test_another_command_retention_is_reported_but_accepted():
    status = verify(spec_of(SETTINGS.topic_commands_sms), ExistingTopic(6, 3, {"retention.ms": "1000"}), 3)
    assert status.action == "differs"
    assert status.detail == f"6 partitions, replication 3; retention.ms=1000 (expected {48 * 3600 * 1000})"


def test_fewer_replicas_than_configured_are_reported():
    status = verify(spec_of(SETTINGS.topic_triggers), ExistingTopic(6, 1, {}), replication=3)
    assert status.action == "differs"
    assert "replication 1 (expected 3, WINBACK_REPLICATION)" in status.detail
