"""``winback kafka``: start, stop and inspect the local Apache Kafka broker used by the demo."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from streams.cli.errors import CommandError
from streams.devtools.kafka_local import (
    CACHE_ENV,
    KAFKA_VERSION,
    KafkaLocalError,
    LocalKafka,
    PortInUse,
    default_cache_dir,
    listeners_for,
)
from streams.devtools.kafka_security import SECURITY_MODES

DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/kafka"),
    show_default=True,
    help="Broker state: topics, KRaft metadata, kafka.log, pid and ports.",
)


KAFKA_HELP = f"""A local single-node Apache Kafka broker for the demo and for trying things out.

The first start fetches Apache Kafka {KAFKA_VERSION} from Maven Central with `mvn` (Java 17 and
Maven are needed) into {default_cache_dir()} (set {CACHE_ENV} to move it); later starts reuse
that cache and need no network. This broker is for development only: in production point
WINBACK_BROKER at a real Kafka cluster instead.
"""


@click.group("kafka", help=KAFKA_HELP)
def kafka() -> None:
    """Local broker commands (the help is KAFKA_HELP: a docstring cannot name the version and cache)."""


@kafka.command("start")
@click.option("--port", type=click.IntRange(1, 65535), default=9092, show_default=True, help="Client port.")
@click.option(
    "--security",
    type=click.Choice(SECURITY_MODES),
    default=None,
    help="The client listener's protocol. [default: the data dir's, plaintext for a new one]",
)
@DATA_DIR_OPTION
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for the broker to answer.")
def start(port: int, security: str | None, data_dir: Path, timeout: float) -> None:
    """Start the broker in the background; print how to reach it.

    Prints the bootstrap address (127.0.0.1:PORT) once the broker answers requests. The broker keeps running after this command exits; stop it with `winback kafka stop`.
    Restarting with the same --data-dir keeps every topic and record.
    A --port in use by another program fails at once; any other failure names the broker's log.

    --security ssl, sasl_plaintext or sasl_ssl starts a broker like a managed cluster:
    a throw-away CA and certificates for localhost/127.0.0.1 (TLS; ssl requires a client
    certificate), SCRAM-SHA-256/512 and PLAIN users (SASL), and ACLs enforced. The users are
    admin (super user) and worker (only what ACLs grant); their passwords, keys and
    certificates are in DATA_DIR/secrets. Instead of the address it prints the
    `export WINBACK_...=...` lines with which admin connects (a password file, never a
    password): `eval "$(winback kafka start --security sasl_ssl)"`.
    """
    broker = LocalKafka(data_dir, port=port, listeners=listeners_for(security) if security else None)
    was_running = broker.is_running()
    try:
        broker.start(timeout=timeout)
    except KafkaLocalError as error:
        raise start_failure(error) from None
    if was_running:
        click.echo(f"already running: {broker.status()}", err=True)
    if broker.secured:
        show_secured_clients(broker)
    else:
        click.echo(broker.bootstrap)
        click.echo(f"log file: {broker.log_file}\nfor clients: export WINBACK_BROKER={broker.bootstrap}", err=True)


def show_secured_clients(broker: LocalKafka) -> None:
    """The settings of admin, as shell lines on stdout; the worker user's difference and the log on stderr."""
    admin = broker.client_env("admin")
    for name, value in admin.items():
        click.echo(f"export {name}={shlex.quote(value)}")
    worker = {name: value for name, value in broker.client_env("worker").items() if admin[name] != value}
    worker_lines = " ".join(f"{name}={shlex.quote(value)}" for name, value in worker.items())
    click.echo(f"log file: {broker.log_file}\nuser worker (only what ACLs grant): {worker_lines}", err=True)


def start_failure(error: KafkaLocalError) -> CommandError:
    """The one-line error of a broker that did not start; a taken port comes with the option to change."""
    if isinstance(error, PortInUse):
        return CommandError(f"{error}; choose another with --port")
    return CommandError(str(error))


@kafka.command("stop")
@DATA_DIR_OPTION
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds before SIGKILL.")
def stop(data_dir: Path, timeout: float) -> None:
    """Stop the broker of --data-dir; its data is kept.

    Sends SIGTERM (a clean shutdown), then SIGKILL after --timeout seconds.
    """
    broker = LocalKafka(data_dir)
    if not broker.is_running():
        click.echo("kafka: not running")
        return
    broker.stop(timeout=timeout)
    click.echo("kafka: stopped")


@kafka.command("status")
@DATA_DIR_OPTION
def status(data_dir: Path) -> None:
    """Show whether the broker runs, where, and its log file.

    Exits with status 1 when it is not running, for scripts.
    """
    current = LocalKafka(data_dir).status()
    click.echo(str(current))
    if not current.running:
        raise SystemExit(1)
