"""``winback traffic``: generate a shop's event history, to a file or onto Kafka."""

from __future__ import annotations

from pathlib import Path

import click

from streams.cli.broker import talk_to_broker
from streams.cli.errors import load_settings
from streams.cli.topics import require_topics

_customers = click.option(
    "--customers", type=click.IntRange(min=0), default=1000, show_default=True, help="Distinct customers in the history."
)
_days = click.option("--days", type=click.IntRange(min=1), default=365, show_default=True, help="Days of history.")
_seed = click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same history).")


@click.group("traffic")
def traffic() -> None:
    """Realistic generated shop traffic (loyal, occasional, one-off and lapsing customers)."""


@traffic.command("generate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_customers
@_days
@_seed
def generate(path: Path, customers: int, days: int, seed: int) -> None:
    """Write a JSON-lines event file (gzip if PATH ends in .gz), one event per line with `type`.

    The file is a valid input for `winback backtest`.
    """
    from streams.devtools.traffic import generate_history, write_jsonl

    count = write_jsonl(generate_history(customers, days, seed, exact_count=True), path)
    click.echo(f"wrote {count} events for {customers} customers to {path}")


@traffic.command("replay")
@_customers
@_days
@_seed
@click.option("--rate", default=500.0, show_default=True, help="Events per second (0: as fast as possible).")
@click.option("--malformed-every", default=0, show_default=True, help="Mix in one malformed record every N events.")
def replay(customers: int, days: int, seed: int, rate: float, malformed_every: int) -> None:
    """Publish a generated history to the input topics (WINBACK_BROKER, WINBACK_TOPIC_*).

    The input topics must exist (`winback topics ensure`): none is created. A broker that
    does not answer within WINBACK_BROKER_TIMEOUT seconds is an error.
    """
    from streams.devtools.publisher import publish
    from streams.devtools.traffic import generate_history

    settings = load_settings()
    require_topics(settings, "publish traffic", settings.input_topics.values())
    events = generate_history(customers, days, seed, exact_count=True)
    conversation = publish(settings, events, rate=rate or None, malformed_every=malformed_every)
    sent = talk_to_broker(settings, "publish traffic", conversation)
    click.echo(f"published {sent} events")
