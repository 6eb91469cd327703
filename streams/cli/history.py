"""What the commands that read a shop's own history share: its options, reading it, a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from streams.cli.errors import CommandError

REJECTIONS_SHOWN = 5  # rejected rows quoted on stderr; all of them are counted


def history_options(command: Callable) -> Callable:
    """--map and --time-format: how the columns of CSV and Parquet files become event fields."""
    command = click.option(
        "--time-format",
        default=None,
        help="strptime format of occurred_at in CSV/Parquet files when it is not ISO 8601 "
        "(e.g. '%m/%d/%Y %H:%M'); times without an offset are UTC.",
    )(command)
    return click.option(
        "--map",
        "mapping",
        default=None,
        metavar="FIELD=COLUMN,...",
        help="Columns of CSV/Parquet files holding the event fields, e.g. "
        "customer_id=CustomerID,occurred_at=InvoiceDate,amount=Price (unmapped fields: the column of "
        "that name). Rows without a type column are purchases; a purchase without event_id takes order_id.",
    )(command)


def read_events(paths: Sequence[Path], mapping: str | None, time_format: str | None, **reading):
    """``read_history`` of the files, its failures as one-line command errors (import deferred: pyarrow is heavy)."""
    from streams.backtest.event_log import EventFileError
    from streams.backtest.history import ColumnMap, HistoryError, read_history

    try:
        return read_history(paths, ColumnMap.parse(mapping, time_format), **reading)
    except (EventFileError, HistoryError) as error:
        raise CommandError(str(error)) from None


def report_rejections(history) -> None:
    """The number of rejected rows and the first few, with file, row and reason, on stderr."""
    rejected = history.rejections()
    if not rejected:
        return
    click.echo(f"{len(rejected):,} rows rejected (not applied); the first {min(len(rejected), REJECTIONS_SHOWN)}:", err=True)
    for path, number, why in rejected[:REJECTIONS_SHOWN]:
        click.echo(f"  {path}:{number}: {why.reason}: {why.detail}", err=True)


class _Rate(ProgressColumn):
    """Items per second so far."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f}/s", style="progress.data.speed")


@contextmanager
def progress_bar(force: bool = False) -> Iterator[Callable[[str], Callable[[int], None]]]:
    """``phase(description)`` starts a phase and returns the function to call with each amount done.

    Drawn on stderr, and only on a terminal unless ``force``d: piped output and JSON on stdout stay clean.
    """
    console = Console(stderr=True, force_terminal=True if force else None)
    if not console.is_terminal:
        yield lambda description: lambda count: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,.0f}"), _Rate(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:

        def phase(description: str) -> Callable[[int], None]:
            task = progress.add_task(description)
            return lambda count: progress.advance(task, count)

        yield phase
