"""Fixtures for tests that run workers against the session's Kafka broker."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Iterator

import pytest

from streams.settings import Settings
from streams.topics import ensure_topics
from streams.worker_process import WorkerProcess

_namespaces = itertools.count(1)


@pytest.fixture
def app_settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings with topic names and app id unique to this test, topics already created."""
    space = f"t{next(_namespaces)}-{tmp_path.name[:20]}".replace("_", "-")
    topics = {name: f"{space}.{name.removeprefix('topic_')}" for name in Settings.model_fields if name.startswith("topic_")}
    settings = Settings(
        broker=kafka_bootstrap, app_id=f"winback-{space}", partitions=4, data_dir=tmp_path / "data", **topics
    )
    asyncio.run(ensure_topics(settings))
    return settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as the WINBACK_* environment of a worker process."""
    fields = settings.model_dump(exclude={"data_dir", "web_port", "web_host"})  # each worker gets its own
    return {f"WINBACK_{name.upper()}": str(value) for name, value in fields.items() if value is not None}


@pytest.fixture
def worker_factory(app_settings: Settings, tmp_path: Path) -> Iterator:
    """Start worker processes for this test's settings; all are stopped afterwards."""
    started: list[WorkerProcess] = []

    def start(name: str = "worker", **overrides: str) -> WorkerProcess:
        worker = WorkerProcess({**settings_env(app_settings), **overrides}, tmp_path, name)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()
