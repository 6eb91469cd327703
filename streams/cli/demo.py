"""``winback demo``: the whole product on this machine."""

from __future__ import annotations

import click

from streams.cli.errors import load_settings
from streams.cli.kafka import start_failure
from streams.devtools.kafka_local import KafkaLocalError


@click.command("demo")
@click.option(
    "--customers", type=click.IntRange(min=0), default=2000, show_default=True, help="Distinct customers in the generated shop history."
)
@click.option("--days", type=click.IntRange(min=1), default=365, show_default=True, help="Days of history to replay.")
@click.option("--rate", default=400.0, show_default=True, help="Events per second sent to Kafka.")
@click.option("--port", default=9092, show_default=True, help="Port of the local Kafka broker.")
def demo(customers: int, days: int, rate: float, port: int) -> None:
    """Start a local Kafka broker and a worker, replay a shop's history, show what happens.

    The broker is Apache Kafka fetched from Maven Central on first use (cached under
    .cache/kafka); data lives in var/demo. Runs until Ctrl-C, then stops everything.
    """
    settings = load_settings()
    from streams.devtools.demo import DemoConfig, run_demo

    try:
        run_demo(DemoConfig(customers=customers, days=days, rate=rate, port=port), settings)
    except KafkaLocalError as error:
        raise start_failure(error) from None
