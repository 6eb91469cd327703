"""``winback backfill``: start from a shop's history, so the workers know every customer from day one."""

from __future__ import annotations

import time
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from streams.cli.backtest import Moment, policy_option
from streams.cli.broker import talk_to_broker
from streams.cli.errors import CommandError, load_policy_file, load_settings
from streams.cli.history import history_options, progress_bar, read_events, report_rejections
from streams.cli.topics import require_topics
from streams.model.codec import Limits


@click.command("backfill")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@policy_option
@click.option("--as-of", type=Moment(), default=None, help="The state at this moment (default: now); later events are left out.")
@click.option("--dry-run", is_flag=True, help="Compute and count, write nothing.")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@history_options
def backfill(
    paths: tuple[Path, ...], policy_path: Path, as_of: float | None, dry_run: bool, output: str, mapping: str | None, time_format: str | None
) -> None:
    """Compute every customer's state from history files and write it into the workers' table.

    PATHS are JSON-lines files (the backtest's format, .gz accepted), CSV files (.csv, .csv.gz)
    or Parquet files (.parquet), read as one history. Each customer's events up to --as-of go
    through the workers' engine; the state keeps the facts (last purchase, login, consent...)
    and starts active: a worker started afterwards enters each customer into the stage they are
    in now, and only that one. States go to the activity table's changelog topic, on the
    partition the workers use for the customer. Live events dated up to the history's last
    event are taken as part of it and not counted twice.

    Refused while a worker of WINBACK_APP_ID runs; customers a worker already keeps are left as
    they are, so running it twice writes the same states. Rejected rows are counted and the
    first few shown on stderr. --dry-run --format json prints
    {"as_of", "customers", "stages": {"active", "reactivation", "winback", "sunset"}}: each
    customer in the stage they are in at --as-of.
    """
    settings = load_settings()
    policy = load_policy_file(policy_path)
    now = time.time()
    as_of = now if as_of is None else as_of
    if not dry_run:
        _check_writable(settings)
    limits = Limits(max_future_skew_seconds=settings.max_future_skew_seconds)  # any time from 1970 on
    from streams.backtest.backfill import compute_backfill

    with progress_bar() as phase:
        history = read_events(paths, mapping, time_format, limits=limits, now=now, on_lines=phase("reading lines"))
        result = compute_backfill(history, policy, as_of, now=now, on_events=phase("computing events"))
        written = None if dry_run else _write(settings, result.states, phase("writing states"))
    report_rejections(history)
    summary = result.summary()
    if written is not None:
        summary |= {"written": written.written, "kept_live": written.kept_live}
    if output == "json":
        click.echo(orjson.dumps(summary).decode())
    else:
        Console().print(_table(summary))
        if dry_run:
            click.echo("dry run: nothing written")


def _check_writable(settings) -> None:
    """Before reading anything: the changelog exists as the workers need it, and no worker runs."""
    from streams.admin.backfill import WorkerRunning, refuse_if_running
    from streams.admin.topics import changelog_topic

    require_topics(settings, "backfill", [changelog_topic(settings)])
    try:
        talk_to_broker(settings, "backfill", refuse_if_running(settings))
    except WorkerRunning as error:
        raise CommandError(f"cannot backfill: {error}") from None


def _write(settings, states, on_written):
    from streams.admin.backfill import WorkerRunning, write_states

    try:
        return talk_to_broker(settings, "backfill", write_states(settings, states, on_written=on_written))
    except WorkerRunning as error:
        raise CommandError(f"cannot backfill: {error}") from None


def _table(summary: dict) -> Table:
    table = Table("stage", "customers", title=f"Customers by stage at {summary['as_of']}")
    for stage, count in summary["stages"].items():
        table.add_row(stage, f"{count:,}")
    table.add_row("all", f"{summary['customers']:,}", style="bold")
    if "written" in summary:
        table.add_row("written", f"{summary['written']:,}")
        table.add_row("left as a worker keeps them", f"{summary['kept_live']:,}")
    return table
