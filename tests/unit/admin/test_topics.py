"""The topics a worker needs and how an existing topic is judged (no broker: see tests/integration)."""

import pytest

from streams.runtime.settings import Settings
from streams.admin.topics import ExistingTopic, TopicSpec, changelog_topic, required_topics, verify

SETTINGS = Settings(partitions=6, replication=3, command_retention_hours=48)


def spec_of(name: str) -> TopicSpec:
    return next(spec for spec in required_topics(SETTINGS) if spec.name == name)


def existing(partitions: int, replication: int, config: dict[str, str] | None = None) -> ExistingTopic:
    """A topic as the cluster describes it; min.insync.replicas as SETTINGS would create it unless given."""
    return ExistingTopic(partitions, replication, {"min.insync.replicas": "2", **(config or {})})


def test_every_topic_setting_and_the_changelog_is_required_once():
    names = [spec.name for spec in required_topics(SETTINGS)]
    topic_settings = {getattr(SETTINGS, field) for field in Settings.model_fields if field.startswith("topic_")}
    assert sorted(names) == sorted(topic_settings | {"winback-activity-changelog"})


def test_table_state_and_internal_topics_are_co_partitioned():
    co_partitioned = {spec.name for spec in required_topics(SETTINGS) if spec.co_partitioned}
    assert co_partitioned == {SETTINGS.topic_events, SETTINGS.topic_due, changelog_topic(SETTINGS)}
    assert all(spec.partitions == 6 for spec in required_topics(SETTINGS))


def test_the_changelog_the_profiles_and_the_customer_stages_are_compacted():
    compacted = {spec.name for spec in required_topics(SETTINGS) if spec.compacted}
    assert compacted == {SETTINGS.topic_profiles, changelog_topic(SETTINGS), SETTINGS.topic_customer_stage}
    assert all(spec_of(name).config["cleanup.policy"] == "compact" for name in compacted)


def test_command_topics_keep_records_for_the_command_retention():
    for topic in SETTINGS.command_topics.values():
        assert spec_of(topic).config["retention.ms"] == str(48 * 3600 * 1000)
    assert "retention.ms" not in spec_of(SETTINGS.topic_dead_letters).config  # the broker's default retention


@pytest.mark.parametrize(
    ("replication", "min_insync", "expected"),
    [(3, None, "2"), (2, None, "2"), (1, None, "1"), (3, 3, "3"), (3, 1, "1")],
)
def test_every_topic_gets_the_min_insync_replicas(replication: int, min_insync: int | None, expected: str):
    settings = Settings(replication=replication, min_insync_replicas=min_insync)
    assert {spec.config["min.insync.replicas"] for spec in required_topics(settings)} == {expected}


def test_a_topic_as_ensure_would_create_it_is_ok():
    changelog = spec_of(changelog_topic(SETTINGS))
    status = verify(changelog, existing(6, 3, {"cleanup.policy": "compact"}), replication=3)
    assert (status.action, status.detail) == ("ok", "6 partitions, replication 3")


@pytest.mark.parametrize("name", [SETTINGS.topic_events, SETTINGS.topic_due, "winback-activity-changelog"])
def test_a_co_partitioned_topic_with_another_partition_count_is_refused(name: str):
    status = verify(spec_of(name), existing(4, 3, {"cleanup.policy": "compact"}), replication=3)
    assert status.action == "mismatch"
    assert "has 4 partitions but the activity table needs 6" in status.detail
    assert "WINBACK_PARTITIONS" in status.detail


def test_an_input_topic_may_have_any_partition_count():
    status = verify(spec_of(SETTINGS.topic_purchases), existing(24, 3), replication=3)
    assert (status.action, status.detail) == ("ok", "24 partitions, replication 3")


def test_a_changelog_that_is_not_compacted_is_refused():
    status = verify(spec_of(changelog_topic(SETTINGS)), existing(6, 3, {"cleanup.policy": "delete"}), 3)
    assert status.action == "mismatch"
    assert "not compacted (cleanup.policy=delete)" in status.detail


def test_another_command_retention_is_reported_but_accepted():
    status = verify(spec_of(SETTINGS.topic_commands_sms), existing(6, 3, {"retention.ms": "1000"}), 3)
    assert status.action == "differs"
    assert status.detail == (
        f"6 partitions, replication 3; retention.ms=1000 (expected {48 * 3600 * 1000}, WINBACK_COMMAND_RETENTION_HOURS)"
    )


def test_fewer_replicas_than_configured_are_reported():
    status = verify(spec_of(SETTINGS.topic_triggers), existing(6, 1, {"min.insync.replicas": "1"}), replication=3)
    assert status.action == "differs"
    assert "replication 1 (expected 3, WINBACK_REPLICATION)" in status.detail


def test_another_min_insync_replicas_is_reported_but_accepted():
    status = verify(spec_of(SETTINGS.topic_triggers), existing(6, 3, {"min.insync.replicas": "1"}), replication=3)
    assert status.action == "differs"
    assert status.detail == "6 partitions, replication 3; min.insync.replicas=1 (expected 2, WINBACK_MIN_INSYNC_REPLICAS)"


def test_more_in_sync_replicas_than_replicas_is_refused():
    status = verify(spec_of(SETTINGS.topic_triggers), existing(6, 2, {"min.insync.replicas": "3"}), replication=3)
    assert status.action == "mismatch"
    assert status.detail == (
        "has min.insync.replicas=3 but only 2 replicas: no write could be acknowledged; "
        "set min.insync.replicas to at most 2"
    )
