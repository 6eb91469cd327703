"""``winback demo``: the whole product on this machine."""

from __future__ import annotations

import click

from streams.cli.errors import load_settings
from streams.cli.kafka import start_failure
from streams.devtools.demo import DemoConfig
from streams.devtools.kafka_local import KafkaLocalError

DEFAULTS = DemoConfig()


@click.command("demo")
@click.option(
    "--customers",
    type=click.IntRange(min=0),
    default=DEFAULTS.customers,
    show_default=True,
    help="Distinct customers in the generated shop history (the scripted cast comes on top).",
)
@click.option("--days", type=click.IntRange(min=1), default=DEFAULTS.days, show_default=True, help="Days of history to replay.")
@click.option("--rate", default=DEFAULTS.rate, show_default=True, help="Events per second sent to Kafka.")
@click.option("--port", default=DEFAULTS.port, show_default=True, help="Port of the local Kafka broker.")
@click.option("--web-port", default=DEFAULTS.web_port, show_default=True, help="Port of the worker's /metrics page.")
def demo(customers: int, days: int, rate: float, port: int, web_port: int) -> None:
    """Start a local Kafka broker and a worker, replay a shop's history, watch it live.

    \b
    - Fresh start: each run first removes the previous run's broker data
      and worker state (var/demo); there is no resuming.
    - The history is two years of a small shop plus a few scripted
      customers: every stage (reactivation, win-back, sunset), a conversion,
      skips and dead letters show within about two minutes.
    - The worker runs policy.full.yaml on the event-time clock, accelerated:
      "now" is the replayed history's time, several days per second (the
      screen says how many).
    - The view fits 80x24 and uses more room when the terminal has it.
    - Ctrl-C stops the traffic, the worker and the broker within seconds.
    - A --port in use by another program fails at once.

    The broker is Apache Kafka, fetched from Maven Central on first use
    (cached under ~/.cache/winback-streams/kafka, or WINBACK_KAFKA_HOME);
    the worker's log is var/demo/worker.log.
    """
    settings = load_settings()
    from streams.devtools.demo import run_demo

    try:
        run_demo(DemoConfig(customers=customers, days=days, rate=rate, port=port, web_port=web_port), settings)
    except KafkaLocalError as error:
        raise start_failure(error) from None
