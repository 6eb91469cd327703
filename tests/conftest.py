"""Session-wide fixtures. The Kafka broker starts only if a test asks for it, so unit tests need no Java."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.kafka_local import LocalKafka


@pytest.fixture(scope="session")
def local_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """The session's real single-node broker, as an object tests may stop and start (outage tests).

    The first run on a machine also fetches Kafka with Maven, hence the generous timeout.
    """
    broker = LocalKafka(tmp_path_factory.mktemp("kafka"))
    broker.start(timeout=240)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(local_kafka: LocalKafka) -> str:
    """Bootstrap address ("127.0.0.1:PORT") of the session's broker."""
    return local_kafka.bootstrap
