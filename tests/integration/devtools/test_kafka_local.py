"""The local broker is a real Kafka: records round-trip, it survives a restart, and the CLI drives it."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.devtools.kafka_local import KafkaLocalError, LocalKafka, PortInUse, free_port
from tests.support.topics import make_topic

pytestmark = pytest.mark.integration


def new_topic() -> str:
    return f"kafka-local-{uuid.uuid4().hex[:8]}"


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Create ``topic`` and send ``values`` to it, one acknowledged record after another."""
    await make_topic(bootstrap, topic)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"customer-1")
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, count: int) -> list[bytes]:
    """Read ``count`` records of ``topic`` from the beginning (fails after ~30 s of nothing)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    received: list[bytes] = []
    try:
        for _ in range(30):
            batches = await consumer.getmany(timeout_ms=1000)
            received += [record.value for batch in batches.values() for record in batch]
            if len(received) >= count:
                break
    finally:
        await consumer.stop()
    return received


async def test_records_round_trip(kafka_bootstrap: str) -> None:
    topic, values = new_topic(), [b"first", b"second", b"third"]

    await produce(kafka_bootstrap, topic, values)

    assert await consume(kafka_bootstrap, topic, len(values)) == values


def test_status_is_visible_from_another_instance(local_kafka: LocalKafka) -> None:
    status = LocalKafka(local_kafka.data_dir).status()  # as `winback kafka status` would see it

    assert status.running
    assert status.bootstrap == local_kafka.bootstrap
    assert f"running at {local_kafka.bootstrap}" in str(status)


async def test_restart_keeps_records_without_fetching_or_formatting(
    local_kafka: LocalKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, values = new_topic(), [b"before-outage-1", b"before-outage-2"]
    await produce(local_kafka.bootstrap, topic, values)

    local_kafka.stop()
    assert not local_kafka.is_running()

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a restart must neither run Maven nor format storage: {args}")

    monkeypatch.setattr(subprocess, "run", forbidden)
    assert local_kafka.start(timeout=120) == local_kafka.bootstrap
    monkeypatch.undo()

    assert await consume(local_kafka.bootstrap, topic, len(values)) == values


def test_a_taken_port_fails_before_the_broker_is_launched(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        broker = LocalKafka(tmp_path / "kafka", port=squatter.getsockname()[1])

        with pytest.raises(PortInUse, match=f"port {broker.port} is in use"):
            broker.start(timeout=60)

    assert not broker.log_file.exists()


def test_a_failed_start_names_the_cause_and_leaves_nothing_running(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path / "kafka", heap="1m")  # the JVM refuses to start with so little

    with pytest.raises(KafkaLocalError) as failure:
        broker.start(timeout=60)

    assert str(failure.value) == f"the Kafka broker exited during startup: Too small maximum heap; see {broker.log_file}"
    assert not broker.is_running()


def winback_kafka(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", "kafka", *args], capture_output=True, text=True, timeout=180, check=False
    )


def test_cli_broker_outlives_start_and_stops_from_another_process(tmp_path: Path) -> None:
    data_dir, port = str(tmp_path / "kafka"), str(free_port())

    started = winback_kafka("start", "--port", port, "--data-dir", data_dir)
    assert started.returncode == 0, started.stderr
    try:
        assert started.stdout.strip() == f"127.0.0.1:{port}"
        assert winback_kafka("status", "--data-dir", data_dir).returncode == 0
    finally:
        stopped = winback_kafka("stop", "--data-dir", data_dir)
    assert stopped.stdout.strip() == "kafka: stopped"
    assert winback_kafka("status", "--data-dir", data_dir).returncode == 1
