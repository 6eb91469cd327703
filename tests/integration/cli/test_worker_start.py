"""A worker starts only on topics as `winback topics ensure` makes them, and creates none itself.

Each refusal runs `winback worker` as a process against the real broker (which, like Kafka's
default, has auto.create.topics.enable on) and asserts its exit status, its one line, and that
no topic appeared.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from streams.admin.topics import changelog_topic, ensure_topics, required_topics
from streams.devtools.spawn import worker_env
from streams.runtime.settings import Settings
from tests.support.commands import Finished, run_winback
from tests.support.topics import create_topic, topic_names

pytestmark = pytest.mark.integration
ENSURE_HINT = "`winback topics ensure` with the same settings creates what is missing and reports the rest"


@pytest.fixture
def settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings whose topics and app id no other test uses, none of them created yet."""
    space = f"start-{uuid.uuid4().hex[:10]}"
    topics = {field: f"{space}.{field.removeprefix('topic_')}" for field in Settings.model_fields if field.startswith("topic_")}
    return Settings(broker=kafka_bootstrap, app_id=f"winback-{space}", partitions=4, data_dir=tmp_path / "data", **topics)


def start_worker(settings: Settings) -> Finished:
    return run_winback(["worker"], {**worker_env(settings), "WINBACK_DATA_DIR": str(settings.data_dir)})


def namespace(settings: Settings) -> str:
    return settings.app_id.removeprefix("winback-")


def assert_refused(run: Finished, problem: str) -> None:
    """Exit status 1 and exactly one line: the problem and the command that helps."""
    assert run.returncode == 1, run
    assert "Traceback" not in run.stderr + run.stdout
    [line] = run.stderr.splitlines()
    assert line.startswith("winback: cannot start the worker on "), line
    assert problem in line and line.endswith(ENSURE_HINT), line


def test_missing_topics_are_named_and_not_created(settings: Settings):
    run = start_worker(settings)

    names = ", ".join(spec.name for spec in required_topics(settings))
    assert_refused(run, f"missing topics {names}")
    assert topic_names(settings.broker, namespace(settings)) == set()


def test_another_partition_count_than_the_topics_have_is_refused(settings: Settings):
    asyncio.run(ensure_topics(settings))

    run = start_worker(settings.model_copy(update={"partitions": 8}))

    assert_refused(
        run,
        f"{settings.topic_events} has 4 partitions but the activity table needs 8: "
        "set WINBACK_PARTITIONS to match, or recreate the topic",
    )
    assert f"{changelog_topic(settings)} has 4 partitions" in run.stderr
    assert topic_names(settings.broker, namespace(settings)) == {spec.name for spec in required_topics(settings)}


def test_a_profiles_topic_that_is_not_compacted_is_refused(settings: Settings):
    create_topic(settings.broker, settings.topic_profiles, 4, {"cleanup.policy": "delete"})
    asyncio.run(ensure_topics(settings))  # the others as they should be

    run = start_worker(settings)

    assert_refused(run, f"{settings.topic_profiles} is not compacted (cleanup.policy=delete)")


def test_more_in_sync_replicas_than_replicas_is_refused(settings: Settings):
    create_topic(settings.broker, settings.topic_outcomes, 4, {"min.insync.replicas": "2"})
    asyncio.run(ensure_topics(settings))

    run = start_worker(settings)

    assert_refused(run, f"{settings.topic_outcomes} has min.insync.replicas=2 but only 1 replicas")


def test_a_worker_on_ensured_topics_creates_no_topic_of_its_own(app_settings: Settings, worker_factory):
    space = app_settings.app_id.removeprefix("winback-")
    ensured = {spec.name for spec in required_topics(app_settings)}
    assert topic_names(app_settings.broker, space) == ensured

    worker_factory()  # returns once the worker is Ready: subscribed, tables recovered, timers running

    assert topic_names(app_settings.broker, space) == ensured  # no Faust leader topic, nothing auto-created
