"""The pure parts of the local broker: rendered configuration, cache lookup, state file. No Java needed."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.devtools import kafka_local
from streams.devtools.kafka_local import (
    KAFKA_VERSION,
    LocalKafka,
    ensure_distribution,
    free_port,
    new_cluster_id,
    render_pom,
    render_server_properties,
)


def parse_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_server_properties_is_a_single_node_kraft_broker(tmp_path: Path) -> None:
    props = parse_properties(render_server_properties(19092, 19093, tmp_path / "logs"))

    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["log.dirs"] == str(tmp_path / "logs")
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "true"


def test_a_brokers_config_replaces_the_local_defaults_in_the_file_it_starts_with(tmp_path: Path) -> None:
    (tmp_path / "kafka").mkdir()
    (tmp_path / "other").mkdir()
    broker = LocalKafka(tmp_path / "kafka", port=free_port(), config={"group.initial.rebalance.delay.ms": "3000"})
    props = parse_properties(broker._write_config().read_text())

    assert props["group.initial.rebalance.delay.ms"] == "3000"  # the local default is 0
    assert props["process.roles"] == "broker,controller"  # the rest as before
    default = parse_properties(LocalKafka(tmp_path / "other", port=free_port())._write_config().read_text())
    assert default["group.initial.rebalance.delay.ms"] == "0"


def test_pom_pins_the_kafka_version_and_a_logging_binding() -> None:
    pom = render_pom("3.9.1")

    assert "<artifactId>kafka_2.13</artifactId>\n      <version>3.9.1</version>" in pom
    assert "<artifactId>slf4j-reload4j</artifactId>" in pom
    assert KAFKA_VERSION.startswith("3.9."), "4.x drops protocol versions aiokafka and Faust use"


def test_cluster_id_is_a_kafka_uuid() -> None:
    cluster_id = new_cluster_id()

    assert len(cluster_id) == 22
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_cached_distribution_is_reused_without_maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "9.9.9"
    (home / "libs").mkdir(parents=True)
    (home / kafka_local.MARKER).write_text("done")

    def no_maven(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"Maven must not run when the cache is complete: {args}")

    monkeypatch.setattr(subprocess, "run", no_maven)
    assert ensure_distribution(tmp_path, "9.9.9") == home / "libs"


def test_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(kafka_local.CACHE_ENV, str(tmp_path))

    assert kafka_local.default_cache_dir() == tmp_path


def test_the_cache_dir_is_the_per_user_one_the_readme_and_the_demo_s_help_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(kafka_local.CACHE_ENV, raising=False)
    named = "~/.cache/winback-streams/kafka"
    demo_help = CliRunner().invoke(main, ["demo", "--help"], env={"COLUMNS": "200"}).output

    assert kafka_local.default_cache_dir() == Path(named).expanduser()
    assert named in (Path(__file__).parents[3] / "README.md").read_text()
    assert named in demo_help


def test_a_new_instance_on_the_same_data_dir_keeps_its_ports(tmp_path: Path) -> None:
    first = LocalKafka(tmp_path)
    first._write_state(pid=None)

    again = LocalKafka(tmp_path)

    assert (again.port, again.controller_port) == (first.port, first.controller_port)
    assert not again.is_running()
    assert "stopped" in str(again.status())


def test_explicit_port_wins_over_the_recorded_one(tmp_path: Path) -> None:
    LocalKafka(tmp_path, port=free_port())._write_state(pid=None)
    port = free_port()

    assert LocalKafka(tmp_path, port=port).bootstrap == f"127.0.0.1:{port}"


@contextmanager
def live_process(*args: str) -> Iterator[int]:
    """A sleeping process with ``args`` on its command line; yields its pid once it is past exec."""
    script = "import time; print('up', flush=True); time.sleep(30)"
    with subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None and process.stdout.readline() == "up\n"
            yield process.pid
        finally:
            process.kill()


def test_a_running_broker_keeps_its_port_whatever_a_new_instance_asks(tmp_path: Path) -> None:
    recorded = free_port()
    with live_process(str(tmp_path / "server.properties")) as pid:  # a JVM names this file on its command line
        LocalKafka(tmp_path, port=recorded)._write_state(pid=pid)

        again = LocalKafka(tmp_path, port=free_port())

        assert again.is_running()
        assert again.bootstrap == f"127.0.0.1:{recorded}"


def test_a_recycled_pid_is_not_taken_for_the_broker(tmp_path: Path) -> None:
    with live_process("something-else") as pid:
        LocalKafka(tmp_path)._write_state(pid=pid)

        assert not LocalKafka(tmp_path).is_running()


def test_storage_format_passes_a_dash_leading_cluster_id_as_one_argument(tmp_path, monkeypatch):
    """About 1 in 64 random ids starts with '-'; as a separate argument argparse took it for an option."""
    import subprocess

    from streams.devtools import kafka_local

    seen: list[list[str]] = []
    monkeypatch.setattr(kafka_local, "new_cluster_id", lambda: "-dashFirstId0000000000")
    monkeypatch.setattr(subprocess, "run", lambda command, **_: seen.append(command) or subprocess.CompletedProcess(command, 0, "", ""))
    kafka_local.LocalKafka(tmp_path)._format_storage(tmp_path, tmp_path / "server.properties")
    assert "--cluster-id=-dashFirstId0000000000" in seen[0]
