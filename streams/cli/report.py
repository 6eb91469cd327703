"""``winback report``: the campaigns' KPIs from what the workers published."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import orjson
from rich.console import Console

from streams.cli.backtest import Moment
from streams.cli.broker import talk_to_broker
from streams.cli.errors import CommandError, cannot_write, load_settings, load_settings_policy
from streams.cli.kpi_csv import kpi_csv
from streams.cli.kpi_html import kpi_html
from streams.cli.kpi_tables import kpi_tables
from streams.cli.topics import require_topics

if TYPE_CHECKING:
    from streams.runtime.campaign_results import Results


@click.command("report")
@click.option("--since", type=Moment(), default=None, help="Only records published from this moment on (ISO 8601; UTC without an offset).")
@click.option("--until", type=Moment(), default=None, help="Only records published before this moment.")
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--html", "html_path", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Also write a self-contained HTML page (funnel and lift charts) to this file.")
def report(since: float | None, until: float | None, output: str, html_path: Path | None) -> None:
    """Print every campaign's funnel, ROI and lift over the holdout (95 % intervals).

    Reads the triggers, command and outcomes topics from the beginning to their current end
    (records kept once per id; --since/--until select by record timestamp) and tallies them as
    `winback backtest` does. Money is converted and priced with the economics section of
    WINBACK_POLICY. A missing topic or a broker that does not answer within
    WINBACK_BROKER_TIMEOUT seconds is a one-line error.
    """
    if since is not None and until is not None and since >= until:
        raise CommandError("--since must be before --until", 2)
    from streams.runtime.campaign_results import TimeRange, read_results, result_topics  # loads the Kafka client

    settings = load_settings()
    economics = load_settings_policy(settings).economics
    require_topics(settings, "read campaign results", result_topics(settings))
    results = talk_to_broker(settings, "read campaign results", read_results(settings, economics, TimeRange(since, until)))
    _print(results, output)
    if html_path is not None:
        try:
            html_path.write_text(kpi_html(results.kpis, "Win-back campaign results"), encoding="utf-8")
        except OSError as error:
            raise cannot_write(html_path, error) from None


def _print(results: Results, output: str) -> None:
    if output == "json":
        click.echo(orjson.dumps(results.kpis, option=orjson.OPT_INDENT_2).decode())
    elif output == "csv":
        click.echo(kpi_csv(results.kpis), nl=False)
    else:
        Console().print(*kpi_tables(results.kpis))
    if results.unreadable:
        click.echo(f"winback: {results.unreadable} record(s) could not be decoded and are not counted", err=True)
