"""``winback traffic``: generate a shop's event history, to a file or onto Kafka."""

from __future__ import annotations

from pathlib import Path

import click

from streams.cli.broker import talk_to_broker
from streams.cli.errors import cannot_write, load_settings
from streams.cli.history import history_options, read_events, report_rejections
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

    try:
        count = write_jsonl(generate_history(customers, days, seed, exact_count=True), path)
    except OSError as error:
        raise cannot_write(path, error) from None
    click.echo(f"wrote {count} events for {customers} customers to {path}")


@traffic.command("replay")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_customers
@_days
@_seed
@click.option("--rate", default=500.0, show_default=True, help="Events per second (0: as fast as possible).")
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Replay PATHS as the events happened, this many times faster (3600: an hour a second); instead of --rate.",
)
@click.option("--malformed-every", default=0, show_default=True, help="Mix in one malformed record every N events.")
@history_options
def replay(
    paths: tuple[Path, ...],
    customers: int,
    days: int,
    seed: int,
    rate: float,
    speed: float | None,
    malformed_every: int,
    mapping: str | None,
    time_format: str | None,
) -> None:
    """Publish a generated history, or your own history PATHS, to the input topics (WINBACK_BROKER, WINBACK_TOPIC_*).

    PATHS: JSON-lines (.gz accepted), CSV or Parquet files, read as `winback backfill` reads
    them (--map, --time-format); their events go out in time order, each keyed by its customer,
    at --rate events/s or, with --speed, as they happened that many times faster. Rejected rows
    are counted and the first few shown on stderr. Without PATHS: a generated history of
    --customers over --days (--seed).

    The input topics must exist (`winback topics ensure`): none is created. A broker that
    does not answer within WINBACK_BROKER_TIMEOUT seconds is an error.
    """
    from streams.devtools.publisher import publish
    from streams.devtools.traffic import generate_history

    settings = load_settings()
    if speed is not None and not paths:
        raise click.UsageError("--speed replays your own history: give the PATHS to replay")
    if paths:
        history = read_events(paths, mapping, time_format)
        events = [event for _, event in history.in_time_order()]
        report_rejections(history)
    else:
        events = generate_history(customers, days, seed, exact_count=True)
    require_topics(settings, "publish traffic", settings.input_topics.values())
    conversation = publish(settings, events, rate=rate or None, speed=speed, keyed=bool(paths), malformed_every=malformed_every)
    sent = talk_to_broker(settings, "publish traffic", conversation)
    click.echo(f"published {sent} events")
