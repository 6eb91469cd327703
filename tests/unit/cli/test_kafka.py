"""``winback kafka start`` fails at once, in one line, when it cannot work; no Java needed.

A taken port is found before anything is launched; any other failure names its cause and the
broker's log.  A stand-in "JVM" (a Python one-liner printing what Kafka prints) plays the broker.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from streams.devtools import kafka_local
from streams.cli import main
from streams.devtools.kafka_local import LocalKafka, free_port, port_is_free

# What Kafka logs when its client port is taken between our check and its bind.
BIND_FAILURE = """\
[2026-01-01 00:00:00,000] ERROR Unable to start acceptor for ListenerName(PLAINTEXT) (kafka.network.DataPlaneAcceptor)
org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:9092: Address already in use.
Caused by: java.net.BindException: Address already in use
[2026-01-01 00:00:00,001] INFO shutting down (kafka.server.BrokerServer)
"""


@contextmanager
def taken_port(listen: bool = True) -> Iterator[int]:
    """A loopback port another program holds (listening, or only bound) while the block runs."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        if listen:
            other.listen()
        yield other.getsockname()[1]


def start(port: int, data_dir: Path) -> Result:
    return CliRunner().invoke(main, ["kafka", "start", "--port", str(port), "--data-dir", str(data_dir), "--timeout", "20"])


@pytest.fixture
def no_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starts that must stop before Kafka is fetched: Maven would be a test failure."""

    def forbidden(*args: object) -> Path:
        raise AssertionError("Kafka must not be fetched")

    monkeypatch.setattr(kafka_local, "ensure_distribution", forbidden)


@pytest.fixture
def fake_jvm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Kafka 'fetched' and storage 'formatted'; the broker a script that prints BIND_FAILURE and exits.

    Returns the data directory to start it in."""
    script = f"import sys; sys.stdout.write({BIND_FAILURE!r}); sys.exit(1)"
    monkeypatch.setattr(kafka_local, "ensure_distribution", lambda *args: tmp_path / "libs")
    monkeypatch.setattr(LocalKafka, "_java", lambda self, libs, *options: [sys.executable, "-c", script])
    data_dir = tmp_path / "kafka"
    (data_dir / "logs").mkdir(parents=True)
    (data_dir / "logs" / "meta.properties").write_text("")
    return data_dir


@pytest.mark.parametrize("listen", [True, False], ids=["listening", "bound"])
def test_a_taken_port_fails_at_once_naming_the_option(listen: bool, tmp_path: Path, no_fetch: None) -> None:
    with taken_port(listen) as port:
        began = time.monotonic()
        result = start(port, tmp_path / "kafka")

    assert time.monotonic() - began < 5
    assert result.exit_code == 1
    assert result.stderr == f"winback: port {port} is in use (by another program); choose another with --port\n"


def test_a_taken_controller_port_is_replaced_by_a_free_one(tmp_path: Path, no_fetch: None) -> None:
    with taken_port() as controller:
        recorded = LocalKafka(tmp_path)
        recorded.controller_port = controller
        recorded._write_state(pid=None)
        broker = LocalKafka(tmp_path, port=free_port())

        with pytest.raises(AssertionError, match="must not be fetched"):  # the ports are claimed first
            broker.start()

        assert broker.controller_port != controller and port_is_free(broker.controller_port)


def test_a_broker_that_exits_is_one_line_with_its_cause_and_log(fake_jvm: Path) -> None:
    result = start(free_port(), fake_jvm)

    assert result.exit_code == 1
    assert result.stderr == (
        "winback: the Kafka broker exited during startup: Socket server failed to bind to 127.0.0.1:9092:"
        f" Address already in use; see {fake_jvm.resolve() / 'kafka.log'}\n"
    )
    assert not LocalKafka(fake_jvm).is_running()


def test_a_failed_storage_format_is_one_line_with_its_cause_and_log(fake_jvm: Path) -> None:
    (fake_jvm / "logs" / "meta.properties").unlink()  # a fresh data dir: storage is formatted first (the stand-in fails it)

    result = start(free_port(), fake_jvm)

    assert result.exit_code == 1
    assert result.stderr == (
        "winback: formatting Kafka storage failed: Socket server failed to bind to 127.0.0.1:9092:"
        f" Address already in use; see {fake_jvm.resolve() / 'kafka.log'}\n"
    )


def test_a_failed_fetch_is_one_line_naming_maven_s_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    maven = tmp_path / "mvn"
    maven.write_text("#!/bin/sh\necho '[ERROR] Could not resolve dependencies'\nexit 1\n")
    maven.chmod(0o755)
    monkeypatch.setattr(kafka_local.shutil, "which", lambda name: str(maven))
    monkeypatch.setenv(kafka_local.CACHE_ENV, str(tmp_path / "cache"))

    result = start(free_port(), tmp_path / "kafka")

    log = tmp_path / "cache" / kafka_local.KAFKA_VERSION / "maven.log"
    assert result.exit_code == 1
    assert result.stderr == f"winback: fetching Kafka {kafka_local.KAFKA_VERSION} with Maven failed (exit status 1); see {log}\n"
    assert log.read_text() == "[ERROR] Could not resolve dependencies\n"
